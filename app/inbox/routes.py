"""Views of the task inbox (待办任务): the lists, claim, release, reassign, bulk approve, and
the task page that renders a user task's form from the form registry."""

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.validators import ValidationError

from app.extensions import db
from app.inbox import bp
from app.inbox.queries import GROUP_TASKS, MY_TASKS, InboxFilters, inbox_query
from app.inbox.service import approve_many, closed_task_message, colleagues_for
from app.models import Enrollment, HumanTask, HumanTaskStatus, TaskComment, User
from app.pagination import paginate
from forms.inbox import (
    BulkApproveForm,
    CommentForm,
    InboxFilterForm,
    ReassignForm,
    TaskActionForm,
)
from forms.registry import UnknownFormKey, get_form
from workflows.runtime import (
    TaskError,
    TaskForbidden,
    add_comment,
    claim_task,
    complete_task,
    get_visible_task,
    reassign_task,
    release_task,
)

log = logging.getLogger(__name__)


# --- Lists ---------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index():
    """List open tasks, filtered and paged.

    Staff choose 我的任务 (claimed by them) or 组任务 (their groups' unclaimed tasks). A unit
    admin gets one list of their unit's open unit-lane tasks.
    """
    form = InboxFilterForm(request.args)
    form.validate()
    tab = MY_TASKS if request.args.get("tab") == MY_TASKS else GROUP_TASKS

    page = paginate(inbox_query(current_user, tab, _filters_from(form)), scalars=False)

    return render_template(
        "inbox/index.html",
        page=page,
        tab=tab,
        filters=form,
        action_form=TaskActionForm(),
        bulk_form=BulkApproveForm(),
    )


def _filters_from(form: InboxFilterForm) -> InboxFilters:
    """Take the valid filter values; an invalid one is shown on the page and ignored."""

    def text(field) -> str:
        return "" if field.errors else (field.data or "").strip()

    return InboxFilters(
        title=text(form.title),
        trainee_name=text(form.name),
        id_number=text(form.id_number).upper(),
        unit_name=text(form.unit),
        created_from=None if form.created_from.errors else form.created_from.data,
        created_to=None if form.created_to.errors else form.created_to.data,
    )


# --- Claim, release, reassign --------------------------------------------------------------


def _task_or_404(task_id: int) -> HumanTask:
    """Return a task the user may see; a missing task and another's task both give 404."""
    try:
        return get_visible_task(task_id, current_user)
    except TaskForbidden:
        abort(404)


def _redirect_back(default: str):
    """Go back to the inbox page the action came from (only inbox paths, never off-site)."""
    target = request.form.get("next", "")
    if target.startswith("/inbox/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    _task_or_404(task_id)
    if TaskActionForm().validate_on_submit():
        try:
            task = claim_task(task_id, current_user)
        except TaskError as error:
            flash(error.message, "warning")
        else:
            flash(f"已认领任务：{task.subject_title}", "success")
    return _redirect_back(url_for("inbox.index", tab=MY_TASKS))


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@login_required
def release(task_id: int):
    _task_or_404(task_id)
    if TaskActionForm().validate_on_submit():
        try:
            task = release_task(task_id, current_user)
        except TaskError as error:
            flash(error.message, "warning")
        else:
            flash(f"已释放任务：{task.subject_title}，组内同事可以认领。", "success")
    return _redirect_back(url_for("inbox.index", tab=GROUP_TASKS))


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id: int):
    """Hand the task to a colleague of its group; the engine rejects anyone else."""
    _task_or_404(task_id)
    form = ReassignForm()
    if not form.validate_on_submit():
        flash("请选择要转办的同事。", "warning")
        return redirect(url_for("inbox.task", task_id=task_id))

    assignee = db.session.get(User, form.assignee.data)
    if assignee is not None and not assignee.is_active:
        flash(f"{assignee.display_name} 的账号已停用，请选择其他同事。", "warning")
        return redirect(url_for("inbox.task", task_id=task_id))
    try:
        task = reassign_task(task_id, current_user, assignee)
    except TaskError as error:
        flash(error.message, "warning")
        return redirect(url_for("inbox.task", task_id=task_id))
    flash(f"已将任务“{task.subject_title}”转办给 {assignee.display_name}。", "success")
    return redirect(url_for("inbox.index", tab=MY_TASKS))


# --- Bulk approve --------------------------------------------------------------------------


@bp.route("/bulk-approve", methods=["POST"])
@login_required
def bulk_approve():
    """Approve each ticked review task through the same completion path as the task page."""
    back = url_for("inbox.index")
    if not current_user.is_staff:
        abort(403)
    if not BulkApproveForm().validate_on_submit():
        abort(400)
    task_ids = _ticked_ids()
    if not task_ids:
        flash("请先勾选要通过的任务。", "warning")
        return _redirect_back(back)

    result = approve_many(task_ids, current_user)

    if result.approved:
        names = "、".join(result.approved)
        flash(f"已审核通过 {len(result.approved)} 条报名：{names}。", "success")
    if result.skipped:
        reasons = "；".join(f"{title}：{reason.rstrip('。')}" for title, reason in result.skipped)
        flash(f"{len(result.skipped)} 条未处理：{reasons}。", "warning")
    return _redirect_back(back)


def _ticked_ids() -> list[int]:
    """Return the ticked task ids in page order, without duplicates and non-numbers."""
    ids = [
        int(value)
        for value in request.form.getlist("ids")
        # ASCII only: str.isdigit() also accepts "²", which int() rejects. Ids past a
        # 32-bit column would make the database raise instead of matching nothing.
        if value.isascii() and value.isdigit() and 0 < int(value) < 2**31
    ]
    return list(dict.fromkeys(ids))


# --- Task page -----------------------------------------------------------------------------


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):
    """Show a task with its subject, history and comments; complete it with its form."""
    human_task = _task_or_404(task_id)
    try:
        form = get_form(human_task.form_key)
    except UnknownFormKey as error:
        log.error("human task %s names an unregistered form: %s", task_id, error)
        return _render_task(human_task, None, error.message)

    subject = _subject_of(human_task)
    if request.method == "GET":
        if hasattr(form, "prefill") and subject is not None:
            form.prefill(subject)
        return _render_task(human_task, form)
    if human_task.status != HumanTaskStatus.OPEN:
        return _render_task(human_task, form, closed_task_message(human_task), status=409)
    if not form.validate_on_submit():
        return _render_task(human_task, form)

    data = form.to_task_data()
    if hasattr(form, "apply_to") and subject is not None:
        # A form that edits its subject does so in complete_task's transaction.
        try:
            changed = form.apply_to(subject)
        except ValidationError:
            db.session.rollback()
            return _render_task(human_task, form)
        if changed:
            data["note"] = "；".join(
                filter(None, [data.get("note"), "修改了" + "、".join(changed)])
            )
    try:
        complete_task(task_id, current_user, data)
    except TaskError as error:
        # The engine rolled back, so reload to show who claimed or completed the task.
        db.session.expire_all()
        return _render_task(human_task, form, error.message, status=409)
    outcome = form.outcome_label()
    flash(f"已处理：{human_task.title} · {human_task.subject_title}，{outcome}。", "success")
    return redirect(url_for("inbox.index"))


def _subject_of(human_task: HumanTask):
    if human_task.subject_type == "enrollment":
        return db.session.get(Enrollment, human_task.subject_id)
    return None


def _render_task(human_task: HumanTask, form, problem: str | None = None, status: int = 200):
    """Render the task page; `problem` (a conflict or a broken task) is shown at the top."""
    enrollment = None
    if human_task.subject_type == "enrollment":
        enrollment = db.session.get(Enrollment, human_task.subject_id)
    comments = []
    if current_user.is_staff:
        comments = db.session.scalars(
            select(TaskComment)
            .where(TaskComment.process_instance_id == human_task.process_instance_id)
            .order_by(TaskComment.created_at, TaskComment.id)
        ).all()
    reassign_form = ReassignForm()
    reassign_form.assignee.choices = [
        (member.id, member.display_name) for member in colleagues_for(human_task, current_user)
    ]
    return render_template(
        "inbox/task.html",
        task=human_task,
        enrollment=enrollment,
        form=form,
        problem=problem,
        comments=comments,
        comment_form=CommentForm(),
        action_form=TaskActionForm(),
        reassign_form=reassign_form,
    ), status


@bp.route("/tasks/<int:task_id>/comments", methods=["POST"])
@login_required
def comment(task_id: int):
    """Add a comment between staff; unit admins never see or write them."""
    _task_or_404(task_id)
    if not current_user.is_staff:
        abort(404)
    form = CommentForm()
    if form.validate_on_submit():
        add_comment(task_id, current_user, form.body.data)
        flash("意见已发表。", "success")
    else:
        for error in form.body.errors:
            flash(error, "warning")
    return redirect(url_for("inbox.task", task_id=task_id) + "#comments")
