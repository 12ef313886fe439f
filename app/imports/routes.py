"""批量导入报名: template download, upload, preview with progress, confirm, error workbook."""

import logging
from io import BytesIO
from urllib.parse import quote

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth.access import unit_admin_required
from app.extensions import db
from app.importing import jobs
from app.importing.catalog import load_catalog
from app.importing.error_workbook import ERROR_FILE_NAME
from app.importing.report import ImportFileError
from app.importing.template import TEMPLATE_FILE_NAME, template_bytes
from app.imports import bp
from app.models import ImportBatch
from forms.imports import CancelForm, ConfirmForm, UploadForm

log = logging.getLogger(__name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/template")
@unit_admin_required
def template():
    """下载导入模板: the template with today's catalog in its dropdowns."""
    content = template_bytes(load_catalog(), current_app.config["IMPORT_MAX_ROWS"])
    response = send_file(BytesIO(content), mimetype=XLSX_MIME)
    return _as_attachment(response, TEMPLATE_FILE_NAME, "enrollment-import-template.xlsx")


@bp.route("/upload", methods=["GET", "POST"])
@unit_admin_required
def upload():
    """批量导入报名: store the file, check it as a whole and start validating its rows."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("imports/upload.html", form=form, file_error=None)
    try:
        job = jobs.create_job(form.workbook.data, current_user, form.position.data)
    except ImportFileError as error:
        return render_template("imports/upload.html", form=form, file_error=error.message), 400
    jobs.start_validation(job)
    return redirect(url_for("imports.job", job_id=job.id))


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_error):
    limit_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    message = f"文件超过 {limit_mb} MB 的上传上限。请删除空白行和多余的工作表，或拆分成多个文件后重新上传。"
    form = UploadForm(formdata=None)
    return render_template("imports/upload.html", form=form, file_error=message), 413


@bp.route("/<job_id>")
@unit_admin_required
def job(job_id: str):
    """Show a job: its progress while running, the preview once validated, or the failure."""
    import_job = _own_job(job_id)
    if import_job.status == jobs.JobStatus.IMPORTED and import_job.batch_id:
        return redirect(url_for("imports.done", job_id=import_job.id))
    return render_template(
        "imports/job.html",
        job=import_job,
        report=jobs.job_report(import_job),
        has_error_workbook=jobs.error_workbook_path(import_job).exists(),
        confirm_form=ConfirmForm(),
        cancel_form=CancelForm(),
        preview_limit=jobs.PREVIEW_ERRORS,
        running=import_job.status in jobs.JobStatus.RUNNING,
    )


@bp.route("/<job_id>/status")
@unit_admin_required
def status(job_id: str):
    """Progress of a job as JSON, polled by the job page."""
    import_job = _own_job(job_id)
    total = import_job.total_rows or 0
    processed = min(import_job.processed_rows or 0, total) if total else 0
    next_url = None
    if import_job.status == jobs.JobStatus.IMPORTED and import_job.batch_id:
        next_url = url_for("imports.done", job_id=import_job.id)
    elif import_job.status not in jobs.JobStatus.RUNNING:
        next_url = url_for("imports.job", job_id=import_job.id)
    return jsonify(
        status=import_job.status,
        processed_rows=processed,
        total_rows=total,
        percent=round(processed * 100 / total) if total else 0,
        error=import_job.error_message,
        next_url=next_url,
    )


@bp.route("/<job_id>/confirm", methods=["POST"])
@unit_admin_required
def confirm(job_id: str):
    """确定: import the valid rows as one import batch, after validating them again."""
    import_job = _own_job(job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not jobs.start_import(import_job):
        flash("该文件已经导入或已取消，不能再次确定。", "warning")
        return redirect(url_for("imports.job", job_id=import_job.id))
    db.session.refresh(import_job)
    if import_job.status == jobs.JobStatus.IMPORTED:
        return redirect(url_for("imports.done", job_id=import_job.id))
    return redirect(url_for("imports.job", job_id=import_job.id))


@bp.route("/<job_id>/done")
@unit_admin_required
def done(job_id: str):
    """Announce a finished import and open the enrollment list filtered to its batch."""
    import_job = _own_job(job_id)
    if import_job.status != jobs.JobStatus.IMPORTED:
        return redirect(url_for("imports.job", job_id=import_job.id))
    batch = db.session.get(ImportBatch, import_job.batch_id) if import_job.batch_id else None
    report = jobs.job_report(import_job)
    if batch is None:
        flash(
            "没有可导入的数据：确认时所有行都未通过校验，请下载错误数据修改后重新上传。", "warning"
        )
        return redirect(url_for("imports.job", job_id=import_job.id))
    flash(f"成功导入 {batch.imported_count} 条报名，导入批次 {batch.number}", "success")
    if report.get("error_rows"):
        flash(
            f"有 {report['error_rows']} 行未导入，请在导入页面下载错误数据，修改后重新上传。",
            "warning",
        )
    return redirect(url_for("enrollments.index", batch=batch.number))


@bp.route("/<job_id>/errors.xlsx")
@unit_admin_required
def errors(job_id: str):
    """下载错误数据: the failed rows with red cells and a 错误原因 column."""
    import_job = _own_job(job_id)
    path = jobs.error_workbook_path(import_job)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=XLSX_MIME)
    return _as_attachment(response, ERROR_FILE_NAME, f"import-errors-{import_job.id[:8]}.xlsx")


@bp.route("/<job_id>/cancel", methods=["POST"])
@unit_admin_required
def cancel(job_id: str):
    """取消: discard the uploaded file without importing it."""
    import_job = _own_job(job_id)
    if not CancelForm().validate_on_submit():
        abort(400)
    if not jobs.cancel_job(import_job):
        flash("该文件正在处理或已经导入，不能取消。", "warning")
        return redirect(url_for("imports.job", job_id=import_job.id))
    flash("已取消本次导入，没有保存任何数据。", "info")
    return redirect(url_for("imports.upload"))


def _as_attachment(response, file_name: str, ascii_name: str):
    """Name a download in Chinese (RFC 6266 filename*) with a readable ASCII fallback.

    send_file would derive the fallback by dropping non-ASCII characters, which leaves a
    Chinese name as ".xlsx".
    """
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=ascii_name,
        **{"filename*": f"UTF-8''{quote(file_name)}"},
    )
    return response


def _own_job(job_id: str):
    import_job = jobs.get_job(job_id, current_user.unit_id)
    if import_job is None:
        abort(404)
    return import_job
