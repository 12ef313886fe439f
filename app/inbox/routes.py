"""Views of the task inbox (待办任务): lists, claim, release, reassign, bulk approve and the
task page that renders a user task's form from the form registry."""

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.inbox import bp
from app.inbox.queries import GROUP_TASKS, MY_TASKS, inbox_query
from app.models import Enrollment, GroupKind, HumanTaskStatus, TaskComment, User
from app.pagination import paginate
from forms.inbox import (
    BulkApproveForm,
    CommentForm,
    InboxFilterForm,
    ReassignForm,
    TaskActionForm,
)
from forms.registry import get_form_class
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


@bp.route("/")
@login_required
def index():
    """List open tasks: 我的任务 (claimed by me) or 组任务 (my groups' unclaimed tasks)."""
    filters = InboxFilterForm(request.args)
    filters.validate()
    tab = MY_TASKS if request.args.get("tab") == MY_TASKS else GROUP_TASKS
    page = paginate(inbox_query(current_user, tab, filters), scalars=False)
    return render_template(
        "inbox/index.html",
        page=page,
        tab=tab,
        filters=filters,
        action_form=TaskActionForm(),
        bulk_form=BulkApproveForm(),
    )


def _task_or_404(task_id: int):
    try:
        return get_visible_task(task_id, current_user)
    except TaskForbidden:
        abort(404)


def _back_to_list():
    target = request.form.get("next", "")
    if target.startswith("/inbox/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    _task_or_404(task_id)
    if TaskActionForm().validate_on_submit():
        try:
            task = claim_task(task_id, current_user)
            flash(f"已认领任务：{task.subject_title}", "success")
        except TaskError as error:
            flash(error.message, "warning")
    return _back_to_list()


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@login_required
def release(task_id: int):
    _task_or_404(task_id)
    if TaskActionForm().validate_on_submit():
        try:
            task = release_task(task_id, current_user)
            flash(f"已释放任务：{task.subject_title}，组内同事可以认领。", "success")
        except TaskError as error:
            flash(error.message, "warning")
    return _back_to_list()


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id: int):
    task = _task_or_404(task_id)
    form = ReassignForm()
    form.assignee.choices = _colleague_choices(task)
    if not form.validate_on_submit():
        flash("请选择要转办的同事。", "warning")
        return redirect(url_for("inbox.task", task_id=task_id))
    assignee = db.session.get(User, form.assignee.data)
    try:
        reassign_task(task_id, current_user, assignee)
        flash(f"已转办给 {assignee.display_name}。", "success")
    except TaskError as error:
        flash(error.message, "warning")
    return redirect(url_for("inbox.index"))


def _colleague_choices(task) -> list[tuple[int, str]]:
    """Members of the task's staff group other than the current user."""
    if task.group is None or task.group.kind != GroupKind.STAFF:
        return []
    return [
        (member.id, member.display_name)
        for member in sorted(task.group.members, key=lambda member: member.id)
        if member.id != current_user.id and member.is_active
    ]


@bp.route("/bulk-approve", methods=["POST"])
@login_required
def bulk_approve():
    """Approve each ticked review task through the same completion path as the task page."""
    if not BulkApproveForm().validate_on_submit():
        abort(400)
    task_ids = _ticked_ids()
    if not task_ids:
        flash("请先勾选要通过的任务。", "warning")
        return _back_to_list()
    approved, skipped = [], []
    for task_id in task_ids:
        try:
            task = get_visible_task(task_id, current_user)
        except TaskForbidden:
            skipped.append(f"任务 {task_id}：不存在或无权处理")
            continue
        if task.form_key != "enrollment_review":
            skipped.append(f"{task.subject_title}：{task.title}不能批量通过")
            continue
        try:
            complete_task(task_id, current_user, {"decision": "approve", "reason": ""})
            approved.append(task.subject_title)
        except TaskError as error:
            skipped.append(f"{task.subject_title}：{error.message}")
    if approved:
        flash(f"已审核通过 {len(approved)} 条报名。", "success")
    if skipped:
        flash(f"{len(skipped)} 条未处理：" + "；".join(skipped), "warning")
    return _back_to_list()


def _ticked_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("ids"):
        if value.isdigit():
            ids.append(int(value))
    return list(dict.fromkeys(ids))


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):
    """Show a task with its enrollment, history and comments; complete it with its form."""
    human_task = _task_or_404(task_id)
    form_class = get_form_class(human_task.form_key)
    form = form_class()
    conflict = None
    if human_task.status == HumanTaskStatus.OPEN and form.validate_on_submit():
        try:
            complete_task(task_id, current_user, form.to_task_data())
        except TaskError as error:
            conflict = error.message
            db.session.expire_all()
        else:
            flash(f"已处理：{human_task.title} · {human_task.subject_title}", "success")
            return redirect(url_for("inbox.index"))
    elif request.method == "POST" and human_task.status != HumanTaskStatus.OPEN:
        conflict = "该任务已处理完毕，无需重复提交。"
    return _render_task(human_task, form, conflict)


def _render_task(human_task, form, conflict):
    enrollment = db.session.get(Enrollment, human_task.subject_id)
    comments = db.session.scalars(
        select(TaskComment)
        .where(TaskComment.process_instance_id == human_task.process_instance_id)
        .order_by(TaskComment.id)
    ).all()
    reassign_form = ReassignForm()
    reassign_form.assignee.choices = _colleague_choices(human_task)
    return render_template(
        "inbox/task.html",
        task=human_task,
        enrollment=enrollment,
        form=form,
        conflict=conflict,
        comments=comments,
        comment_form=CommentForm(),
        action_form=TaskActionForm(),
        reassign_form=reassign_form,
    ), (409 if conflict else 200)


@bp.route("/tasks/<int:task_id>/comments", methods=["POST"])
@login_required
def comment(task_id: int):
    _task_or_404(task_id)
    if not current_user.is_staff:
        abort(403)
    form = CommentForm()
    if form.validate_on_submit():
        add_comment(task_id, current_user, form.body.data)
        flash("意见已发表。", "success")
    else:
        for error in form.body.errors:
            flash(error, "warning")
    return redirect(url_for("inbox.task", task_id=task_id) + "#comments")
