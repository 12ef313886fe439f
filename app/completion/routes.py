"""Views of the four-step form, document upload and download, and the application form PDF.

Every view finds the enrollment through ``enrollment_or_404``, so a unit admin reaches only
the unit's enrollments, a trainee only their own, and any other id gives the same 404.
"""

import logging
from urllib.parse import quote

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from app.completion import bp
from app.completion.steps import (
    COMMITMENT_TEXT,
    DOCUMENTS,
    PERSONAL,
    STEP_TITLES,
    TRAINING,
    UNIT,
    can_edit,
    drafts,
    is_complete,
    missing_items,
    missing_summary,
    save_draft,
)
from app.documents.application_form import render_application_form
from app.documents.form_data import application_form_data
from app.documents.images import ImageRejected
from app.documents.storage import (
    current_documents,
    document_path,
    replaced_documents,
    store_document,
)
from app.enrollments.service import enrollment_or_404, enrollments_visible_to
from app.extensions import db
from app.models import DocumentKind, Enrollment, EnrollmentDocument, EnrollmentStatus, now
from forms.completion import (
    DocumentUploadForm,
    PersonalInfoForm,
    SubmitEnrollmentForm,
    TrainingInfoForm,
    UnitInfoForm,
)

log = logging.getLogger(__name__)

STEP_FORMS = {PERSONAL: PersonalInfoForm, UNIT: UnitInfoForm, TRAINING: TrainingInfoForm}


@bp.route("/enrollments/<int:enrollment_id>/steps/<int:step>", methods=["GET", "POST"])
@login_required
def step(enrollment_id: int, step: int):
    """Show or save one step of the four-step form."""
    if step not in STEP_TITLES:
        abort(404)
    enrollment = enrollment_or_404(current_user, enrollment_id)
    if step == DOCUMENTS:
        return _documents_step(enrollment)

    editable = can_edit(enrollment, current_user)
    form = STEP_FORMS[step](enrollment=enrollment)
    if request.method == "POST":
        if not editable:
            # The page's banner says why; nothing is saved.
            return redirect(url_for(".step", enrollment_id=enrollment.id, step=step))
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                flash("页面已过期，请刷新后重新填写。", "danger")
                return redirect(url_for(".step", enrollment_id=enrollment.id, step=step))
            # Keep what was typed. Moving back or to another step is allowed, but going on
            # with 下一步 or 保存 stays here so the errors are seen.
            save_draft(enrollment, step, form.draft_values())
            db.session.commit()
            target = _target_step(step)
            if target is not None and target != step and not form.next.data:
                flash(f"“{STEP_TITLES[step]}”有未通过检查的内容，已暂存，请稍后改正。", "warning")
                return redirect(url_for(".step", enrollment_id=enrollment.id, step=target))
            flash("请按提示改正标红的内容。", "danger")
        else:
            form.apply_to(enrollment)
            save_draft(enrollment, step, None)
            db.session.commit()
            log.info(
                "step %s of enrollment %s saved by user %s", step, enrollment.id, current_user.id
            )
            target = _target_step(step)
            if target is None or target == step:
                flash(f"“{STEP_TITLES[step]}”已保存。", "success")
                target = step
            return redirect(url_for(".step", enrollment_id=enrollment.id, step=target))
    else:
        draft = drafts(enrollment).get(step)
        if draft is not None and editable:
            form.load_draft(draft)
            form.validate()  # show the errors of the kept values
        else:
            form.prefill()

    return _render(enrollment, step, form=form, editable=editable)


def _target_step(current: int) -> int | None:
    """Return the step the pressed button leads to, or None to stay."""
    if request.form.get("previous"):
        return max(PERSONAL, current - 1)
    if request.form.get("next"):
        return min(DOCUMENTS, current + 1)
    goto = request.form.get("goto", "")
    if goto.isdigit() and int(goto) in STEP_TITLES:
        return int(goto)
    return None


def _documents_step(enrollment):
    editable = can_edit(enrollment, current_user)
    form = SubmitEnrollmentForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("页面已过期，请刷新后重试。", "danger")
            return redirect(url_for(".step", enrollment_id=enrollment.id, step=DOCUMENTS))
        if not editable:
            return redirect(url_for(".step", enrollment_id=enrollment.id, step=DOCUMENTS))
        _record_commitment(enrollment, bool(form.commitment.data))
        db.session.commit()
        target = _target_step(DOCUMENTS)
        if form.submit.data:
            return _submit_from_form(enrollment)
        if target is not None and target != DOCUMENTS:
            return redirect(url_for(".step", enrollment_id=enrollment.id, step=target))
        flash("“资料上传”已保存。", "success")
        return redirect(url_for(".step", enrollment_id=enrollment.id, step=DOCUMENTS))

    form.commitment.data = enrollment.committed_at is not None
    return _render(enrollment, DOCUMENTS, form=form, editable=editable)


def _record_commitment(enrollment, ticked: bool) -> None:
    if ticked and enrollment.committed_at is None:
        enrollment.committed_at = now()
        enrollment.committed_by_id = current_user.id
    elif not ticked:
        enrollment.committed_at = None
        enrollment.committed_by_id = None


def _submit_from_form(enrollment):
    from app.review.service import submit_or_resubmit

    if not current_user.is_unit_admin:
        flash("学员不能提交报名，资料完善后请联系单位管理员提交。", "warning")
        return redirect(url_for(".step", enrollment_id=enrollment.id, step=DOCUMENTS))
    result = submit_or_resubmit([enrollment], current_user)
    if result.submitted:
        flash(
            f"{enrollment.trainee.name}（{enrollment.training_project}）的报名已提交，等待协会审核。",
            "success",
        )
        return redirect(url_for("enrollments.index"))
    _, reason = result.skipped[0]
    flash(f"未提交：{reason}", "warning")
    return redirect(url_for(".step", enrollment_id=enrollment.id, step=DOCUMENTS))


def _render(enrollment, step: int, **context):
    documents = current_documents(enrollment)
    missing = missing_items(enrollment, documents)
    return render_template(
        f"completion/step{step}.html",
        enrollment=enrollment,
        step=step,
        step_titles=STEP_TITLES,
        missing=missing,
        complete=is_complete(missing),
        missing_text=missing_summary(missing),
        documents=documents,
        history=replaced_documents(enrollment) if step == DOCUMENTS else [],
        document_kinds=DocumentKind,
        upload_form=DocumentUploadForm(),
        commitment_text=COMMITMENT_TEXT,
        read_only_reason=None if context.get("editable") else _read_only_reason(enrollment),
        **context,
    )


def _read_only_reason(enrollment) -> str:
    if enrollment.status not in (EnrollmentStatus.DRAFT, EnrollmentStatus.REJECTED):
        return f"报名状态为“{enrollment.status_label}”，资料不能再修改。"
    return "您只能查看此报名，不能修改。"


# --- Documents -----------------------------------------------------------------------------


@bp.route("/enrollments/<int:enrollment_id>/documents/<kind>", methods=["POST"])
@login_required
def upload(enrollment_id: int, kind: str):
    """Store one uploaded image as the enrollment's current document of a kind."""
    enrollment = enrollment_or_404(current_user, enrollment_id)
    if kind not in DocumentKind.REQUIRED:
        abort(404)
    back = redirect(url_for(".step", enrollment_id=enrollment.id, step=DOCUMENTS) + f"#{kind}")
    if not can_edit(enrollment, current_user):
        log.info("upload for read-only enrollment %s refused", enrollment.id)
        return back

    form = DocumentUploadForm()
    label = DocumentKind.LABELS[kind]
    if not form.validate_on_submit():
        message = "；".join(form.file.errors) or "页面已过期，请刷新后重新上传。"
        flash(f"{label}：{message}", "danger")
        return back

    upload_file = form.file.data
    raw = upload_file.read()
    try:
        document = store_document(enrollment, kind, raw, upload_file.filename or "", current_user)
    except ImageRejected as rejection:
        log.info(
            "upload of %s for enrollment %s rejected: %s", kind, enrollment.id, rejection.message
        )
        flash(f"{label}上传失败：{rejection.message}", "danger")
        return back
    flash(f"{label}已上传。", "success")
    for warning in document.warning_list:
        flash(f"{label}：{warning}", "warning")
    return back


@bp.route("/documents/<token>")
def document(token: str):
    """Send one stored document to a user allowed to see its enrollment; else 404.

    Anonymous users get 404 too, not a log-in redirect, so the URL reveals nothing.
    """
    if not current_user.is_authenticated or len(token) > 64:
        abort(404)
    row = db.session.scalar(select(EnrollmentDocument).where(EnrollmentDocument.token == token))
    if row is None:
        abort(404)
    visible = db.session.scalar(
        enrollments_visible_to(current_user).where(Enrollment.id == row.enrollment_id)
    )
    if visible is None:
        abort(404)
    path = document_path(row)
    if not path.is_file():
        log.error("document %s has no file at %s", row.id, row.storage_name)
        abort(404)
    response = send_file(path, mimetype=row.content_type, conditional=True, max_age=0)
    label = DocumentKind.SHORT_LABELS.get(row.kind, row.kind)
    extension = path.suffix[1:]
    disposition = "attachment" if request.args.get("download") == "1" else "inline"
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="{row.kind}.{extension}"; '
        f"filename*=UTF-8''{quote(f'{label}.{extension}')}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/enrollments/<int:enrollment_id>/application-form.pdf")
@login_required
def application_form(enrollment_id: int):
    """Send the pre-filled application form of one enrollment as a PDF (点击下载)."""
    enrollment = enrollment_or_404(current_user, enrollment_id)
    data = application_form_data(
        enrollment, organization=current_app.config["TRAINING_ORGANIZATION"], generated_at=now()
    )
    pdf = render_application_form(data)
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    file_name = f"报名申请表-{enrollment.trainee.name}-{enrollment.training_project}.pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="application-form-{enrollment.id}.pdf"; '
        f"filename*=UTF-8''{quote(file_name)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
