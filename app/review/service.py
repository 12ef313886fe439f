"""Submitting enrollments for review and finding their open tasks."""

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from app.bulk import update_rows
from app.completion.steps import is_complete, missing_items, missing_summary
from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentDocument,
    EnrollmentStatus,
    GroupKind,
    HumanTask,
    HumanTaskStatus,
    ProcessInstance,
    User,
)
from app.review import adapter  # noqa: F401  (registers the enrollment subject)
from workflows.runtime import TaskError, complete_task, start_processes

log = logging.getLogger(__name__)

REVIEW_PROCESS = "enrollment_review"


@dataclass
class SubmitResult:
    submitted: list[Enrollment] = field(default_factory=list)
    skipped: list[tuple[Enrollment, str]] = field(default_factory=list)


def submit_enrollments(enrollments: list[Enrollment], actor: User) -> SubmitResult:
    """Start one review process instance per complete 待提交 enrollment, in one transaction.

    Enrollments that are not 待提交, or whose four steps are not complete, are skipped with
    the reason in Chinese, naming what is missing.
    """
    result = SubmitResult()
    documents = documents_by_enrollment([e.id for e in enrollments])
    for enrollment in enrollments:
        reason = _not_submittable_reason(enrollment, actor) or incomplete_reason(
            enrollment, documents.get(enrollment.id, set())
        )
        if reason:
            result.skipped.append((enrollment, reason))
        else:
            result.submitted.append(enrollment)
    if not result.submitted:
        return result

    instance_ids = start_processes(REVIEW_PROCESS, "enrollment", result.submitted, actor)
    _link_instances(result.submitted, instance_ids)
    db.session.commit()
    log.info("user %s submitted %d enrollment(s)", actor.id, len(result.submitted))
    return result


def _link_instances(enrollments: list[Enrollment], instance_ids: list[int]) -> None:
    # One statement; the loaded objects are updated without an ORM flush.
    update_rows(
        Enrollment.__table__,
        [
            {"id": enrollment.id, "process_instance_id": instance_id}
            for enrollment, instance_id in zip(enrollments, instance_ids)
        ],
    )
    for enrollment, instance_id in zip(enrollments, instance_ids):
        set_committed_value(enrollment, "process_instance_id", instance_id)


def _not_submittable_reason(enrollment: Enrollment, actor: User) -> str | None:
    if actor.is_unit_admin and enrollment.unit_id != actor.unit_id:
        return "不属于本单位"
    if enrollment.status != EnrollmentStatus.DRAFT:
        label = EnrollmentStatus.LABELS.get(enrollment.status, enrollment.status)
        return f"当前状态为“{label}”，只有“待提交”的报名可以提交"
    if enrollment.process_instance_id is not None:
        return "已经提交过审核"
    return None


def submit_or_resubmit(enrollments: list[Enrollment], actor: User) -> SubmitResult:
    """Submit 待提交 enrollments and resubmit 审核不通过 ones through their correction task.

    A rejected enrollment waits in a user task of the unit's lane; resubmitting completes it
    with ``action = "resubmit"``, which the review diagram's gateway reads.
    """
    rejected = [e for e in enrollments if e.status == EnrollmentStatus.REJECTED]
    others = [e for e in enrollments if e.status != EnrollmentStatus.REJECTED]
    result = submit_enrollments(others, actor) if others else SubmitResult()
    documents = documents_by_enrollment([e.id for e in rejected])
    for enrollment in rejected:
        reason = incomplete_reason(enrollment, documents.get(enrollment.id, set()))
        task = open_task_for(enrollment)
        if reason is None and (task is None or task.group.kind != GroupKind.UNIT):
            reason = "没有待单位处理的修改任务，无法重新提交"
        if reason is None:
            try:
                complete_task(task.id, actor, {"action": "resubmit", "note": ""})
            except TaskError as error:
                reason = error.message
        if reason:
            result.skipped.append((enrollment, reason))
        else:
            db.session.refresh(enrollment)
            result.submitted.append(enrollment)
    return result


# Ids per IN (...) list; SQLite allows at most 32766 bound parameters in one statement.
ID_CHUNK = 1000


def documents_by_enrollment(enrollment_ids: list[int]) -> dict[int, set[str]]:
    """Return the kinds of current documents of many enrollments: {enrollment id: {kind}}."""
    found: dict[int, set[str]] = {}
    for start in range(0, len(enrollment_ids), ID_CHUNK):
        chunk = enrollment_ids[start : start + ID_CHUNK]
        rows = db.session.execute(
            select(EnrollmentDocument.enrollment_id, EnrollmentDocument.kind).where(
                EnrollmentDocument.enrollment_id.in_(chunk),
                EnrollmentDocument.replaced_at.is_(None),
            )
        )
        for enrollment_id, kind in rows:
            found.setdefault(enrollment_id, set()).add(kind)
    return found


def incomplete_reason(enrollment: Enrollment, documents) -> str | None:
    """Return what keeps the enrollment from review, in Chinese, or None when complete.

    ``documents`` holds the kinds of its current documents (or maps kind to document).
    """
    missing = missing_items(enrollment, documents)
    if is_complete(missing):
        return None
    return f"资料未完善，缺少{missing_summary(missing)}"


def open_task_for(enrollment: Enrollment) -> HumanTask | None:
    """Return the open user task of the enrollment's running review instance, if any."""
    if enrollment.process_instance_id is None:
        return None
    return db.session.scalar(
        select(HumanTask)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
        .where(
            HumanTask.process_instance_id == enrollment.process_instance_id,
            HumanTask.status == HumanTaskStatus.OPEN,
        )
        .order_by(HumanTask.id.desc())
        .limit(1)
    )
