"""Inbox operations that combine several engine calls: bulk approve, colleagues to hand a
task to, and the wording for a task that is no longer open."""

import logging
from dataclasses import dataclass, field

from app.models import GroupKind, HumanTask, HumanTaskStatus, User
from forms.review import APPROVE
from workflows.runtime import TaskError, TaskForbidden, complete_task, get_visible_task

log = logging.getLogger(__name__)

REVIEW_FORM_KEY = "enrollment_review"


@dataclass
class BulkApproveResult:
    approved: list[str] = field(default_factory=list)  # subject titles, e.g. "林晓燕 电梯"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (subject title, reason)


def approve_many(task_ids: list[int], user: User) -> BulkApproveResult:
    """Approve each review task through ``complete_task``, one transaction per task.

    An unclaimed task is claimed and completed in one step, because ``complete_task`` takes
    any open task not claimed by someone else and records the user as its claimer. A task
    that another reviewer claimed or completed in the meantime is skipped with the engine's
    message.
    """
    result = BulkApproveResult()
    for task_id in task_ids:
        try:
            task = get_visible_task(task_id, user)
        except TaskForbidden as error:
            result.skipped.append((f"任务 {task_id}", error.message))
            continue
        title = task.subject_title
        if task.form_key != REVIEW_FORM_KEY:
            result.skipped.append((title, f"“{task.title}”任务不能批量通过，请逐条办理。"))
            continue
        try:
            complete_task(task_id, user, {"decision": APPROVE, "reason": ""})
        except TaskError as error:
            result.skipped.append((title, error.message))
        else:
            result.approved.append(title)
    log.info(
        "user %s bulk-approved %d task(s), skipped %d",
        user.id,
        len(result.approved),
        len(result.skipped),
    )
    return result


def colleagues_for(task: HumanTask, user: User) -> list[User]:
    """Active members of the task's staff group other than the user, by display name."""
    if task.group is None or task.group.kind != GroupKind.STAFF:
        return []
    members = [m for m in task.group.members if m.id != user.id and m.is_active]
    return sorted(members, key=lambda member: (member.display_name, member.id))


def closed_task_message(task: HumanTask) -> str:
    """Explain why a task that is no longer open cannot be completed again."""
    if task.status == HumanTaskStatus.COMPLETED:
        who = task.completed_by.display_name if task.completed_by else "其他人"
        when = task.completed_at.strftime("%Y-%m-%d %H:%M:%S") if task.completed_at else ""
        return f"该任务已由 {who} 于 {when} 处理，无需重复操作。"
    return "该任务已结束（流程已变化），无需再办理。"
