from flask_login import login_required

from app.inbox import bp


@bp.route("/")
@login_required
def index():
    return "待办任务"
