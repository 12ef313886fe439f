"""Inbox list queries over the human task table joined to the enrollment tables.

Workflow state is never deserialised here: the human_tasks rows mirror every open user task.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, false, select
from sqlalchemy.orm import aliased

from app.models import (
    Enrollment,
    Group,
    GroupKind,
    HumanTask,
    HumanTaskStatus,
    Trainee,
    Unit,
    User,
)

MY_TASKS = "mine"
GROUP_TASKS = "group"

Claimer = aliased(User, name="claimer")


@dataclass
class InboxFilters:
    """Cleaned filter values; empty strings and None mean "no filter"."""

    title: str = ""
    trainee_name: str = ""
    id_number: str = ""
    unit_name: str = ""
    created_from: date | None = None
    created_to: date | None = None


def visible_tasks_condition(user: User):
    """SQL form of ``workflows.runtime.can_view`` for the task rows a user may open."""
    if user.is_unit_admin:
        if user.unit_id is None:
            return false()
        return and_(Group.kind == GroupKind.UNIT, HumanTask.unit_id == user.unit_id)
    if not user.is_staff:
        return false()
    group_ids = [group.id for group in user.groups if group.kind == GroupKind.STAFF]
    if not group_ids:
        return false()
    return and_(Group.kind == GroupKind.STAFF, HumanTask.group_id.in_(group_ids))


def inbox_query(user: User, tab: str, filters: InboxFilters) -> Select:
    """Select rows of (HumanTask, Enrollment, Trainee, Unit, claimer name), newest first.

    Staff see 我的任务 (open tasks they claimed) or 组任务 (their groups' unclaimed open
    tasks). A unit admin's list contains every open unit-lane task of their unit, claimed
    or not, because unit tasks belong to all admins of the unit alike.
    """
    stmt = (
        select(HumanTask, Enrollment, Trainee, Unit, Claimer.display_name.label("claimer_name"))
        .join(Group, Group.id == HumanTask.group_id)
        .join(
            Enrollment,
            and_(HumanTask.subject_type == "enrollment", Enrollment.id == HumanTask.subject_id),
        )
        .join(Trainee, Trainee.id == Enrollment.trainee_id)
        .join(Unit, Unit.id == Enrollment.unit_id)
        .outerjoin(Claimer, Claimer.id == HumanTask.claimed_by_id)
        .where(HumanTask.status == HumanTaskStatus.OPEN, visible_tasks_condition(user))
        .order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
    )
    if user.is_staff:
        if tab == MY_TASKS:
            stmt = stmt.where(HumanTask.claimed_by_id == user.id)
        else:
            stmt = stmt.where(HumanTask.claimed_by_id.is_(None))
    return _apply_filters(stmt, filters, user)


def _apply_filters(stmt: Select, filters: InboxFilters, user: User) -> Select:
    if filters.title:
        stmt = stmt.where(HumanTask.title.contains(filters.title, autoescape=True))
    if filters.trainee_name:
        stmt = stmt.where(Trainee.name.contains(filters.trainee_name, autoescape=True))
    if filters.id_number:
        # A full number or its first digits, the way staff read it off a form.
        stmt = stmt.where(Trainee.id_number.startswith(filters.id_number, autoescape=True))
    if filters.unit_name and user.is_staff:
        stmt = stmt.where(Unit.name.contains(filters.unit_name, autoescape=True))
    if filters.created_from:
        stmt = stmt.where(HumanTask.created_at >= datetime.combine(filters.created_from, time.min))
    if filters.created_to:
        # The end date is inclusive: everything before the next midnight.
        next_day = datetime.combine(filters.created_to + timedelta(days=1), time.min)
        stmt = stmt.where(HumanTask.created_at < next_day)
    return stmt
