"""Error pages in Chinese."""

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError

MESSAGES = {
    400: ("请求无效", "提交的内容不完整或格式有误，请返回上一页重新操作。"),
    403: ("没有权限", "您的账号没有访问此页面的权限。"),
    404: ("页面不存在", "您访问的记录不存在，或不属于您的单位。请从列表重新进入。"),
    405: (
        "无法直接打开",
        "该地址只接受页面上的按钮提交，不能直接打开或刷新。请从菜单重新进入后再操作。",
    ),
    413: ("文件过大", "上传的文件超过大小限制，请拆分后重新上传。"),
    500: ("系统错误", "系统处理时出错，请稍后重试；如果问题持续，请联系协会工作人员。"),
}


# Endpoints whose forms are posted without logging in.
PUBLIC_FORMS = {"auth.login", "trainees.activate", "payments.sandbox_pay"}


def register_error_handlers(app: Flask) -> None:
    def render(code: int):
        title, message = MESSAGES[code]
        return render_template("error.html", code=code, title=title, message=message), code

    for code in MESSAGES:
        if code != 413:
            app.register_error_handler(code, lambda error, code=code: render(code))

    @app.errorhandler(413)
    def too_large(error):
        limit_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        if "/documents/" in request.path:
            message = (
                f"图片超过 {limit_mb} MB，无法上传。请用手机相册的“编辑”或“导出”功能缩小图片，"
                "或改用截图后再上传。"
            )
        else:
            message = f"上传的文件超过 {limit_mb} MB，请拆分成几个文件后分别上传。"
        return render_template("error.html", code=413, title="文件过大", message=message), 413

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        from flask import flash, redirect, url_for
        from flask_login import current_user

        # A signed-in page posted without a session: the log-in has expired. Forms that
        # anyone may post (log-in, activation, the sandbox platform) get the plain message.
        if not current_user.is_authenticated and request.endpoint not in PUBLIC_FORMS:
            flash("登录已过期，请重新登录后再操作。", "warning")
            return redirect(url_for("auth.login"))
        message = "页面已过期或表单校验失败，请刷新页面后重新提交。"
        return render_template("error.html", code=400, title="请求无效", message=message), 400
