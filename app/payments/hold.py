"""The order hold: an unpaid order is cancelled ORDER_HOLD_HOURS after it was placed.

Each order gets a one-off APScheduler job in the job store in the application database, so
the cancellation survives restarts. Web workers only write jobs: their scheduler is started
paused and never runs one. The scheduler process runs them, and its periodic sweep cancels
any expired order whose job was lost or missed.
"""

import logging
import threading

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import current_app
from sqlalchemy import and_, exists, select, update

from app.extensions import db
from app.models import Enrollment
from app.models.clock import LOCAL_ZONE, now
from app.models.clock import offset as clock_offset
from app.models.payment import AttemptStatus, Order, OrderStatus, PaymentAttempt
from app.payments.providers.base import ProviderError

log = logging.getLogger(__name__)

JOB_STORE_TABLE = "apscheduler_jobs"
EXPIRE_JOB = "scheduler.jobs:expire_order"
# Orders cancelled per transaction by the sweep.
SWEEP_CHUNK = 500

_writers: dict[str, BackgroundScheduler] = {}
_writers_lock = threading.Lock()


def hold_hours_text() -> str:
    """Format ORDER_HOLD_HOURS for messages: 48.0 -> "48", 0.5 -> "0.5"."""
    hours = current_app.config["ORDER_HOLD_HOURS"]
    return str(int(hours)) if float(hours).is_integer() else str(hours)


def expiry_reason() -> str:
    return f"超过{hold_hours_text()}小时未付款，系统自动取消"


def job_id(order_id: int) -> str:
    return f"order-expiry-{order_id}"


def schedule_cancellation(order: Order) -> None:
    """Write the order's cancellation job to the job store; the scheduler process runs it.

    Called after the order is committed. Should this fail, the sweep still cancels the order.
    """
    # The app clock may be moved in tests; the job store keeps real time.
    run_at = (order.expires_at - clock_offset()).replace(tzinfo=LOCAL_ZONE)
    try:
        _job_writer().add_job(
            EXPIRE_JOB,
            "date",
            run_date=run_at,
            args=[order.id],
            id=job_id(order.id),
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )
    except Exception:  # the order is kept either way, and the sweep cancels it when due
        log.exception("failed to schedule the cancellation of order %s", order.number)


def _job_writer() -> BackgroundScheduler:
    url = str(db.engine.url)
    with _writers_lock:
        writer = _writers.get(url)
        if writer is None:
            writer = BackgroundScheduler(
                jobstores={
                    "default": SQLAlchemyJobStore(engine=db.engine, tablename=JOB_STORE_TABLE)
                },
                timezone="Asia/Shanghai",
            )
            writer.start(paused=True)
            _writers[url] = writer
        return writer


def expire_order(order_id: int) -> str:
    """Cancel the order if it is still unpaid and its hold has run out (the timer job).

    Returns a CancelOutcome, or "postponed" when a provider could not report the QR code state.
    """
    from app.payments.settlement import cancel_order

    try:
        return cancel_order(order_id, expiry_reason(), only_if_expired=True)
    except ProviderError as error:
        log.warning(
            "order %s: cancellation postponed, provider state of the QR code unknown: %s",
            order_id,
            error,
        )
        return "postponed"


def sweep_expired_orders() -> int:
    """Cancel every pending order past its hold and return how many were cancelled.

    Orders without an open QR code are cancelled in bulk. The others are cancelled one by one,
    because their QR codes must be closed at the provider first.
    """
    from app.payments.settlement import CancelOutcome

    cancelled = 0
    while True:
        seen, done = _cancel_chunk_without_attempts()
        cancelled += done
        if seen < SWEEP_CHUNK:
            break
    for order_id in _expired_with_open_attempts():
        if expire_order(order_id) == CancelOutcome.CANCELLED:
            cancelled += 1
    return cancelled


def _open_attempt_exists():
    return exists().where(
        PaymentAttempt.order_id == Order.id, PaymentAttempt.status == AttemptStatus.OPEN
    )


def _cancel_chunk_without_attempts() -> tuple[int, int]:
    """Cancel up to SWEEP_CHUNK expired orders; return (orders looked at, orders cancelled)."""
    at = now()
    # SKIP LOCKED passes over orders being paid or given a QR code right now, and the next
    # sweep selects them again. SQLite ignores it and serialises writers instead.
    candidates = list(
        db.session.scalars(
            select(Order.id)
            .where(
                Order.status == OrderStatus.PENDING,
                Order.expires_at <= at,
                ~_open_attempt_exists(),
            )
            .order_by(Order.expires_at)
            .limit(SWEEP_CHUNK)
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        db.session.rollback()
        return 0, 0
    cancelled = list(
        db.session.scalars(
            update(Order)
            .where(
                and_(Order.id.in_(candidates), Order.status == OrderStatus.PENDING),
                ~_open_attempt_exists(),
            )
            .values(status=OrderStatus.CANCELLED, cancelled_at=at, cancel_reason=expiry_reason())
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
    )
    if cancelled:
        db.session.execute(
            update(Enrollment)
            .where(Enrollment.pending_order_id.in_(cancelled))
            .values(pending_order_id=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    log.info("sweep cancelled %d expired order(s) without a QR code", len(cancelled))
    return len(candidates), len(cancelled)


def _expired_with_open_attempts() -> list[int]:
    return list(
        db.session.scalars(
            select(Order.id).where(
                Order.status == OrderStatus.PENDING,
                Order.expires_at <= now(),
                _open_attempt_exists(),
            )
        )
    )


def scheduled_job_ids() -> list[str]:
    """Ids of the order cancellation jobs now in the job store."""
    store = SQLAlchemyJobStore(engine=db.engine, tablename=JOB_STORE_TABLE)
    with db.engine.connect() as connection:
        ids = connection.execute(select(store.jobs_t.c.id)).scalars()
        return [job for job in ids if job.startswith("order-expiry-")]
