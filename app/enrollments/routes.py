"""Views of 报名管理: the list, 详情, and the 删除 and 提交 actions of a unit admin."""

import logging
import unicodedata

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.auth.access import unit_admin_required
from app.enrollments import bp
from app.enrollments.service import (
    EnrollmentFilters,
    delete_enrollment,
    deletion_block_reason,
    enrollment_or_404,
    filtered_enrollments,
    own_enrollments_or_404,
)
from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, Unit
from app.pagination import paginate
from forms.enrollments import ActionForm, EnrollmentFilterForm, SelectionForm

log = logging.getLogger(__name__)


@bp.route("/")
@login_required
def index():
    """List the enrollments a user may see, filtered and paged, newest first."""
    units = _all_units() if current_user.is_staff else ()
    form = EnrollmentFilterForm(request.args, units=units)
    filters = _filters_from(form)

    stmt = filtered_enrollments(current_user, filters)
    page = paginate(stmt)
    draft_total = 0 if current_user.is_staff else _count_drafts(stmt)

    return render_template(
        "enrollments/index.html",
        form=form,
        page=page,
        correction_tasks=_correction_tasks(page.items),
        action_form=ActionForm(),
        selection_form=SelectionForm(),
        list_url=request.full_path,
        draft_total=draft_total,
    )


def _count_drafts(stmt) -> int:
    drafts = stmt.where(Enrollment.status == EnrollmentStatus.DRAFT).order_by(None)
    return db.session.scalar(select(func.count()).select_from(drafts.subquery()))


@bp.route("/<int:enrollment_id>")
@login_required
def detail(enrollment_id: int):
    """Show one enrollment in full with its status history."""
    enrollment = enrollment_or_404(current_user, enrollment_id)
    return render_template(
        "enrollments/detail.html",
        enrollment=enrollment,
        correction_task=_correction_tasks([enrollment]).get(enrollment.id),
        action_form=ActionForm(),
        list_url=_list_url(),
    )


@bp.route("/<int:enrollment_id>/delete", methods=["POST"])
@unit_admin_required
def delete(enrollment_id: int):
    """Delete one 待提交 enrollment of the admin's own unit."""
    enrollment = enrollment_or_404(current_user, enrollment_id)

    block_reason = deletion_block_reason(enrollment)
    if block_reason:
        flash(block_reason, "warning")
        return redirect(_list_url())

    label = f"{enrollment.trainee.name}（{enrollment.training_project}）"
    delete_enrollment(enrollment, current_user)
    flash(f"已删除 {label} 的报名。", "success")
    return redirect(_list_url())


@bp.route("/<int:enrollment_id>/submit", methods=["POST"])
@unit_admin_required
def submit(enrollment_id: int):
    """Submit one enrollment for review, or open the four-step form if it is incomplete.

    As in the manual: the admin clicks 提交 on an imported row, completes 资料上传, then
    submits from the form.
    """
    from app.completion.steps import first_incomplete_step, missing_items, missing_summary
    from app.documents.storage import current_documents

    enrollment = enrollment_or_404(current_user, enrollment_id)
    missing = missing_items(enrollment, current_documents(enrollment))
    step = first_incomplete_step(missing)
    if step is not None and enrollment.status in (
        EnrollmentStatus.DRAFT,
        EnrollmentStatus.REJECTED,
    ):
        flash(f"请先完善报名资料后再提交，尚缺：{missing_summary(missing)}。", "warning")
        return redirect(url_for("completion.step", enrollment_id=enrollment.id, step=step))
    _submit([enrollment])
    return redirect(_list_url())


@bp.route("/submit", methods=["POST"])
@unit_admin_required
def submit_selected():
    """Submit the enrollments ticked in the list."""
    form = SelectionForm()
    if not form.validate_on_submit():
        flash("选中的报名编号无效，请刷新页面后重新勾选。", "danger")
        return redirect(_list_url())
    if not form.ids.data:
        flash("请先勾选要提交的报名。", "warning")
        return redirect(_list_url())

    enrollments = own_enrollments_or_404(current_user, form.ids.data)
    _submit(enrollments)
    return redirect(_list_url())


@bp.route("/submit-all", methods=["POST"])
@unit_admin_required
def submit_all():
    """Submit every 待提交 enrollment that matches the list's current filters (全部提交)."""
    if not ActionForm().validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return redirect(url_for("enrollments.index"))
    form = EnrollmentFilterForm(request.args, units=())
    filters = _filters_from(form)
    stmt = filtered_enrollments(current_user, filters).where(
        Enrollment.status == EnrollmentStatus.DRAFT
    )
    enrollments = list(db.session.scalars(stmt).unique())
    if not enrollments:
        flash("没有符合条件的“待提交”报名。", "warning")
    else:
        _submit(enrollments)
    return redirect(url_for("enrollments.index", **request.args.to_dict()))


# Skipped enrollments named in the flash message; the rest are counted.
SKIPPED_NAMES_SHOWN = 10


def _submit(enrollments: list[Enrollment]) -> None:
    # Imported here so that this module loads before the review package exists.
    from app.review.service import submit_or_resubmit

    result = submit_or_resubmit(enrollments, current_user)
    db.session.commit()

    if result.submitted:
        names = "、".join(e.trainee.name for e in result.submitted[:SKIPPED_NAMES_SHOWN])
        more = "等" if len(result.submitted) > SKIPPED_NAMES_SHOWN else ""
        flash(f"已提交 {len(result.submitted)} 条报名（{names}{more}），等待协会审核。", "success")
    if result.skipped:
        reasons = "；".join(
            f"{enrollment.trainee.name}（{enrollment.training_project}）：{reason}"
            for enrollment, reason in result.skipped[:SKIPPED_NAMES_SHOWN]
        )
        more = len(result.skipped) - SKIPPED_NAMES_SHOWN
        if more > 0:
            reasons += f"；另有 {more} 条"
        flash(f"{len(result.skipped)} 条报名未提交：{reasons}", "warning")
    log.info(
        "user %s submitted %d enrollments, %d skipped",
        current_user.id,
        len(result.submitted),
        len(result.skipped),
    )


def _correction_tasks(enrollments: list[Enrollment]) -> dict:
    """Map each rejected enrollment of the admin's unit to its open correction task."""
    rejected = [e for e in enrollments if e.status == EnrollmentStatus.REJECTED]
    if not rejected or not current_user.is_unit_admin:
        return {}

    from app.review.service import open_task_for

    tasks = {}
    for enrollment in rejected:
        task = open_task_for(enrollment)
        if task is not None:
            tasks[enrollment.id] = task
    return tasks


def _filters_from(form: EnrollmentFilterForm) -> EnrollmentFilters:
    return EnrollmentFilters(
        batch_number=_clean(form.batch.data),
        trainee_name=_clean(form.name.data),
        id_number=_clean(form.id_number.data).upper(),
        position=form.position.data or "",
        training_type=form.training_type.data or "",
        training_project=form.training_project.data or "",
        status=form.status.data or "",
        unit_id=int(form.unit.data) if (form.unit.data or "").isdigit() else None,
    )


def _clean(value: str | None) -> str:
    # Full-width digits and letters pasted from office documents match their ASCII forms.
    return unicodedata.normalize("NFKC", value or "").strip()


def _all_units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.name)))


def _list_url() -> str:
    """Return the list page the user came from (kept in ``next``), filters included."""
    index_url = url_for("enrollments.index")
    target = request.values.get("next", "")
    # Only this list's own path: anything else could redirect off the site.
    if target == index_url or target.startswith(index_url + "?"):
        return target
    return index_url
