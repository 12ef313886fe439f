"""Jobs that the scheduler process runs; each one opens its own application context."""

import logging

from flask import Flask

log = logging.getLogger(__name__)

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Give the job functions the application; APScheduler stores jobs by function reference."""
    global _app
    _app = app


def fire_due_timers() -> None:
    """Fire BPMN timer events whose due time has passed and advance their process instances."""
    from workflows.timers import fire_due_timers as fire

    with _app.app_context():
        fired = fire()
        if fired:
            log.info("fired %d due timer(s)", fired)


def remove_orphan_documents() -> None:
    """Delete uploaded files that no document row refers to any more."""
    from app.documents.storage import remove_orphan_files

    with _app.app_context():
        remove_orphan_files()


def expire_order(order_id: int) -> None:
    """Cancel one order if it is still unpaid when its hold ends (its 48-hour timer)."""
    from app.payments.hold import expire_order as expire

    with _app.app_context():
        outcome = expire(order_id)
        log.info("order %s expiry job: %s", order_id, outcome)


def sweep_expired_orders() -> None:
    """Cancel expired orders whose own job was missed while the scheduler was down."""
    from app.payments.hold import sweep_expired_orders as sweep

    with _app.app_context():
        cancelled = sweep()
        if cancelled:
            log.info("sweep cancelled %d expired order(s)", cancelled)


def reconcile_payments() -> None:
    """Ask the providers about QR codes still open, in case a notification was lost."""
    from app.payments.reconcile import reconcile_open_attempts

    with _app.app_context():
        reconcile_open_attempts()
