"""Settling an order: paid by a notification, a query or a close; or cancelled.

Every path takes the order row first (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one
writer at a time), then changes the order only by a conditional UPDATE on ``status =
'pending'``. So a notification, the 48-hour timer and the user's 取消订单 arriving together end
in exactly one outcome, and a paid order is never cancelled. Money that arrives for an order
already settled is still recorded, and flagged for refund.

Provider calls (close, create) are made while the order is locked and before the changes
they lead to are written, so a concurrent request on the same order waits for their outcome.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.extensions import db
from app.models import Enrollment
from app.models.clock import now
from app.models.payment import (
    AttemptStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentStatus,
    RefundStatus,
)
from app.payments.providers.base import ProviderError, TradeResult, TradeState
from app.payments.registry import provider_label

log = logging.getLogger(__name__)


class PaymentOutcome:
    """Result of recording one payment, as record_payment returns it."""

    PAID = "paid"  # this payment settled the order
    DUPLICATE = "duplicate"  # the same payment was recorded before
    LATE = "late"  # money taken for an order already paid or cancelled: refund it
    MISMATCH = "mismatch"  # the amount differs from the attempt's: kept for refund only


def lock_order(order_id: int) -> Order | None:
    """Load an order and lock it until the transaction ends.

    PostgreSQL locks the row. SQLite has no row locks, so a write that changes nothing takes
    the database's single write lock instead: a second request on the same order (a
    double-click on 更新二维码) then waits, as it would on PostgreSQL.
    """
    if db.engine.dialect.name == "sqlite":
        db.session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(id=Order.id)
            .execution_options(synchronize_session=False)
        )
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def mark_order_paid(order: Order, paid_at: datetime) -> bool:
    """Mark a pending order and its enrollments paid; return False when it was not pending."""
    changed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING)
        .values(status=OrderStatus.PAID, paid_at=paid_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return False
    db.session.execute(
        update(Enrollment)
        .where(Enrollment.pending_order_id == order.id)
        .values(
            payment_status=PaymentStatus.PAID,
            paid_order_id=order.id,
            paid_at=paid_at,
            pending_order_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(order)
    return True


def record_payment(attempt: PaymentAttempt, trade: TradeResult, source: str) -> str:
    """Apply money the provider reports it took for one attempt, and end the transaction.

    Commits, or rolls back when nothing is applied. ``source`` (notification, query, close)
    goes to the log. Returns a PaymentOutcome.
    """
    if trade.amount_fen != attempt.amount_fen:
        return _record_mismatched_payment(attempt, trade, source)

    order = lock_order(attempt.order_id)
    paid_at = trade.paid_at or now()
    took = db.session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt.id, PaymentAttempt.status != AttemptStatus.PAID)
        .values(
            status=AttemptStatus.PAID,
            transaction_id=trade.transaction_id,
            paid_fen=trade.amount_fen,
            paid_at=paid_at,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not took:
        db.session.rollback()
        log.info(
            "payment %s/%s already recorded (%s)", attempt.provider, attempt.out_trade_no, source
        )
        return PaymentOutcome.DUPLICATE

    if mark_order_paid(order, paid_at):
        outcome = PaymentOutcome.PAID
        log.info(
            "order %s paid by %s/%s (%s)",
            order.number,
            attempt.provider,
            attempt.out_trade_no,
            source,
        )
    else:
        db.session.refresh(order)
        reason = "订单已付款，重复支付" if order.status == OrderStatus.PAID else "订单已取消后付款"
        db.session.execute(
            update(PaymentAttempt)
            .where(PaymentAttempt.id == attempt.id)
            .values(refund_status=RefundStatus.PENDING, refund_reason=reason)
            .execution_options(synchronize_session=False)
        )
        outcome = PaymentOutcome.LATE
        log.warning(
            "order %s is %s: payment %s/%s (%s fen) recorded and queued for refund",
            order.number,
            order.status,
            attempt.provider,
            attempt.out_trade_no,
            trade.amount_fen,
        )
    db.session.commit()
    db.session.expire(attempt)
    return outcome


def _record_mismatched_payment(attempt: PaymentAttempt, trade: TradeResult, source: str) -> str:
    """Keep money of another amount than the QR code's on record, for refund. Commits.

    Only a provider's own query or close reaches here: notifications with a wrong amount are
    rejected before. The order is not settled by it, so the unit can pay the right amount.
    """
    log.warning(
        "payment %s/%s: amount %s fen differs from the attempt's %s fen (from %s); "
        "recorded for refund, order not settled",
        attempt.provider,
        attempt.out_trade_no,
        trade.amount_fen,
        attempt.amount_fen,
        source,
    )
    lock_order(attempt.order_id)
    db.session.execute(
        update(PaymentAttempt)
        .where(PaymentAttempt.id == attempt.id, PaymentAttempt.status != AttemptStatus.PAID)
        .values(
            status=AttemptStatus.PAID,
            transaction_id=trade.transaction_id,
            paid_fen=trade.amount_fen,
            paid_at=trade.paid_at or now(),
            refund_status=RefundStatus.PENDING,
            refund_reason="支付金额与订单金额不符",
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return PaymentOutcome.MISMATCH


@dataclass(frozen=True)
class CloseResults:
    """Provider results of closing an order's open QR codes."""

    closed: list[PaymentAttempt]
    paid: list[tuple[PaymentAttempt, TradeResult]]


def close_open_attempts(order: Order) -> CloseResults:
    """Close every open QR code of the order at its provider. Raises ProviderError.

    Writes nothing, because the caller records the results.
    """
    from app.payments.registry import provider

    closed, paid = [], []
    for attempt in order.attempts:
        if attempt.status != AttemptStatus.OPEN:
            continue
        try:
            channel = provider(attempt.provider)
        except KeyError as error:
            # NOTE: the order stays pending until the provider is enabled again, because only
            # the provider can tell whether this QR code was paid.
            label = provider_label(attempt.provider)
            raise ProviderError(
                f"二维码所用的支付方式“{label}”已停用，请联系协会工作人员。",
                f"close of {attempt.provider}/{attempt.out_trade_no} failed: provider not enabled",
            ) from error
        result = channel.close(attempt.out_trade_no)
        if result.state == TradeState.PAID:
            paid.append((attempt, result))
        elif result.state == TradeState.CLOSED:
            closed.append(attempt)
        else:
            raise ProviderError(
                "支付平台未能关闭二维码，请稍后再试。",
                f"close of {attempt.provider}/{attempt.out_trade_no} left it {result.state}",
            )
    return CloseResults(closed, paid)


def mark_attempts_closed(attempts: list[PaymentAttempt]) -> None:
    """Mark open attempts closed that their provider reported closed. Does not commit."""
    if not attempts:
        return
    db.session.execute(
        update(PaymentAttempt)
        .where(
            PaymentAttempt.id.in_([a.id for a in attempts]),
            PaymentAttempt.status == AttemptStatus.OPEN,
        )
        .values(status=AttemptStatus.CLOSED, closed_at=now())
        .execution_options(synchronize_session=False)
    )


def record_close_payments(results: CloseResults) -> None:
    """Record the payments that closing found, then the closures. Commits.

    The order's row lock is kept until the first payment is recorded, so a concurrent cancel
    waits and then finds the order paid. Closures come last because record_payment rolls back
    when it applies nothing, and a closure reported by the provider is safe to record later.
    """
    for attempt, trade in results.paid:
        record_payment(attempt, trade, source="close")
    mark_attempts_closed(results.closed)
    db.session.commit()


class CancelOutcome:
    """Result of cancel_order."""

    CANCELLED = "cancelled"
    PAID = "paid"  # the provider reported a payment, so the order is paid instead
    ALREADY_PAID = "already_paid"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_EXPIRED = "not_expired"


def cancel_order(order_id: int, reason: str, only_if_expired: bool = False) -> str:
    """Cancel a pending order after closing its QR codes at the provider. Commits.

    Raises ProviderError (and changes nothing) when a provider cannot report whether a QR code
    was paid. ``only_if_expired`` is for the timer and sweep: an order whose hold was
    lengthened, or that a clock skew made look due, stays.
    """
    order = lock_order(order_id)
    if order is None or order.status != OrderStatus.PENDING:
        status = order.status if order is not None else None
        db.session.rollback()
        return _settled_outcome(status)
    if only_if_expired and order.expires_at > now():
        db.session.rollback()
        return CancelOutcome.NOT_EXPIRED

    try:
        results = close_open_attempts(order)
    except ProviderError:
        db.session.rollback()
        raise
    if results.paid:
        # Paid before the close reached the provider, so the payment wins.
        record_close_payments(results)
        status = db.session.scalar(select(Order.status).where(Order.id == order_id))
        db.session.rollback()
        if status == OrderStatus.PAID:
            return CancelOutcome.PAID
        # Only payments of a wrong amount were found: they are kept for refund and no longer
        # open, so cancelling again closes the rest.
        return cancel_order(order_id, reason, only_if_expired)

    mark_attempts_closed(results.closed)
    cancelled = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING)
        .values(status=OrderStatus.CANCELLED, cancelled_at=now(), cancel_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not cancelled:
        # Without a row lock (SQLite), another request may have settled the order meanwhile.
        db.session.rollback()
        status = db.session.scalar(select(Order.status).where(Order.id == order_id))
        db.session.rollback()
        return _settled_outcome(status)
    release_enrollments(order.id)
    db.session.commit()
    db.session.expire(order)
    log.info("order %s cancelled: %s", order.number, reason)
    return CancelOutcome.CANCELLED


def _settled_outcome(status: str | None) -> str:
    return (
        CancelOutcome.ALREADY_PAID
        if status == OrderStatus.PAID
        else CancelOutcome.ALREADY_CANCELLED
    )


def release_enrollments(order_id: int) -> None:
    """Free a cancelled order's enrollments so that they can be paid again."""
    db.session.execute(
        update(Enrollment)
        .where(Enrollment.pending_order_id == order_id)
        .values(pending_order_id=None)
        .execution_options(synchronize_session=False)
    )
