"""Firing BPMN timer events that are due; called by the scheduler process."""

import logging

from sqlalchemy import select

from app.extensions import db
from app.models import InstanceStatus, ProcessInstance, now
from workflows.runtime import advance_instance

log = logging.getLogger(__name__)


def fire_due_timers(limit: int = 500) -> int:
    """Advance running instances whose earliest timer is due; return how many advanced.

    Safe to call from two processes at once: each save is conditional on the instance's
    lock_version, so the second one to save skips that instance.
    """
    due_ids = db.session.scalars(
        select(ProcessInstance.id)
        .where(
            ProcessInstance.status == InstanceStatus.RUNNING,
            ProcessInstance.timer_due_at.is_not(None),
            ProcessInstance.timer_due_at <= now(),
        )
        .order_by(ProcessInstance.timer_due_at)
        .limit(limit)
    ).all()
    advanced = 0
    for instance_id in due_ids:
        instance = db.session.get(ProcessInstance, instance_id)
        try:
            if advance_instance(instance):
                advanced += 1
        except Exception:
            db.session.rollback()
            log.exception("advancing process instance %s failed", instance_id)
    return advanced
