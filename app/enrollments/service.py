"""Queries and actions behind 报名管理: the filtered list, one enrollment, deletion."""

import logging
from dataclasses import dataclass

from flask import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import contains_eager, joinedload

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    ImportBatch,
    Trainee,
    User,
)

log = logging.getLogger(__name__)


@dataclass
class EnrollmentFilters:
    """The list's search fields; empty strings and None mean "any"."""

    batch_number: str = ""  # prefix: 20231010 finds every batch of that day
    trainee_name: str = ""  # part of the name
    id_number: str = ""  # the full number or its first characters
    position: str = ""
    training_type: str = ""
    training_project: str = ""
    status: str = ""
    unit_id: int | None = None  # staff only


def enrollments_visible_to(user: User) -> Select:
    """Select the enrollments a user may see.

    Staff see all, a unit admin sees the unit's, and a trainee sees only their own.
    """
    stmt = select(Enrollment)
    if user.is_staff:
        return stmt
    if user.is_trainee:
        return stmt.where(Enrollment.trainee_id == user.trainee_id)
    if user.is_unit_admin:
        return stmt.where(Enrollment.unit_id == user.unit_id)
    return stmt.where(False)


def filtered_enrollments(user: User, filters: EnrollmentFilters) -> Select:
    """Select the user's enrollments matching the filters, newest first."""
    stmt = (
        enrollments_visible_to(user)
        .join(Enrollment.trainee)
        .outerjoin(Enrollment.batch)
        .options(
            contains_eager(Enrollment.trainee),
            contains_eager(Enrollment.batch),
            joinedload(Enrollment.unit),
        )
    )
    if filters.batch_number:
        stmt = stmt.where(ImportBatch.number.startswith(filters.batch_number, autoescape=True))
    if filters.trainee_name:
        stmt = stmt.where(Trainee.name.contains(filters.trainee_name, autoescape=True))
    if filters.id_number:
        stmt = stmt.where(Trainee.id_number.startswith(filters.id_number, autoescape=True))
    for column, value in (
        (Enrollment.position, filters.position),
        (Enrollment.training_type, filters.training_type),
        (Enrollment.training_project, filters.training_project),
        (Enrollment.status, filters.status),
    ):
        if value:
            stmt = stmt.where(column == value)
    if filters.unit_id and user.is_staff:
        stmt = stmt.where(Enrollment.unit_id == filters.unit_id)
    return stmt.order_by(Enrollment.created_at.desc(), Enrollment.id.desc())


def enrollment_or_404(user: User, enrollment_id: int) -> Enrollment:
    """Return one enrollment the user may see; another unit's id gives the same 404 as none."""
    stmt = enrollments_visible_to(user).where(Enrollment.id == enrollment_id)
    enrollment = db.session.scalar(stmt)
    if enrollment is None:
        abort(404)
    return enrollment


def own_enrollments_or_404(user: User, enrollment_ids: list[int]) -> list[Enrollment]:
    """Return the unit's enrollments with these ids; any id outside the unit gives 404."""
    requested_ids = set(enrollment_ids)
    stmt = (
        enrollments_visible_to(user)
        .where(Enrollment.id.in_(requested_ids))
        .options(joinedload(Enrollment.trainee))
        .order_by(Enrollment.id)
    )
    found = list(db.session.scalars(stmt).unique())
    if len(found) != len(requested_ids):
        abort(404)
    return found


def deletion_block_reason(enrollment: Enrollment) -> str | None:
    """Return why an enrollment cannot be deleted (Chinese), or None when it can."""
    if enrollment.status != EnrollmentStatus.DRAFT:
        return (
            f"{enrollment.trainee.name} 的报名状态为“{enrollment.status_label}”，"
            "只有“待提交”的报名可以删除。"
        )
    if enrollment.process_instance_id is not None:
        # A draft that once entered review keeps its process history; removing the
        # enrollment would leave that instance pointing at nothing.
        return f"{enrollment.trainee.name} 的报名已有审核流程记录，不能删除。"
    return None


def delete_enrollment(enrollment: Enrollment, actor: User) -> None:
    """Delete a 待提交 enrollment, its documents and status history; the trainee stays."""
    from app.documents.storage import delete_all_documents

    enrollment_id = enrollment.id
    delete_all_documents(enrollment)
    for transition in list(enrollment.transitions):
        db.session.delete(transition)
    db.session.delete(enrollment)
    db.session.commit()
    log.info("enrollment %s deleted by user %s", enrollment_id, actor.id)
