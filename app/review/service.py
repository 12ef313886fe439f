"""Submitting enrollments for review and finding their open tasks."""

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from app.bulk import update_rows
from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    HumanTask,
    HumanTaskStatus,
    ProcessInstance,
    User,
)
from app.review import adapter  # noqa: F401  (registers the enrollment subject)
from workflows.runtime import start_processes

log = logging.getLogger(__name__)

REVIEW_PROCESS = "enrollment_review"


@dataclass
class SubmitResult:
    submitted: list[Enrollment] = field(default_factory=list)
    skipped: list[tuple[Enrollment, str]] = field(default_factory=list)


def submit_enrollments(enrollments: list[Enrollment], actor: User) -> SubmitResult:
    """Start one review process instance per 待提交 enrollment, in one transaction."""
    result = SubmitResult()
    for enrollment in enrollments:
        reason = _not_submittable_reason(enrollment, actor)
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
