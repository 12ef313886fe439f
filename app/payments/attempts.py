"""Opening a QR code (a payment attempt) for an order, closing the previous one first.

The manual warns units not to scan with WeChat and then pay with Alipay. So 更新二维码 and
switching method close the previous QR code at its provider before a new one is made, and at
most one QR code of an order can be paid at any time.
"""

import logging

from flask import current_app, url_for

from app.extensions import db
from app.models.clock import now
from app.models.payment import AttemptStatus, Order, OrderStatus, PaymentAttempt
from app.payments.hold import hold_hours_text
from app.payments.numbers import attempt_number
from app.payments.providers.base import NewTrade, ProviderError
from app.payments.registry import provider
from app.payments.settlement import (
    close_open_attempts,
    lock_order,
    mark_attempts_closed,
    record_close_payments,
)

log = logging.getLogger(__name__)


class AttemptRejected(Exception):
    """Error raised when no QR code can be shown; ``message`` (Chinese) states why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def open_attempt(order_id: int, provider_name: str) -> PaymentAttempt | None:
    """Close the order's open QR codes, then open a new one at ``provider_name``. Commits.

    Returns None when closing showed the order was paid meanwhile. Raises AttemptRejected
    when the order cannot be paid or a provider cannot be reached.
    """
    chosen = provider(provider_name)
    order = lock_order(order_id)
    rejection = _rejection_message(order)
    if rejection:
        db.session.rollback()
        log.info("order %s: QR code at %s rejected: %s", order_id, provider_name, rejection)
        raise AttemptRejected(rejection)

    try:
        results = close_open_attempts(order)
    except ProviderError as error:
        log.warning("order %s: failed to close the previous QR code: %s", order.number, error)
        db.session.rollback()
        raise AttemptRejected(
            "上一个二维码暂时无法关闭，为防止重复付款，请稍后再点【更新二维码】。"
            f"（{error.message}）"
        ) from error
    if results.paid:
        record_close_payments(results)
        if db.session.get(Order, order_id, populate_existing=True).status == OrderStatus.PAID:
            return None
        # Only payments of a wrong amount were found, kept for refund: offer a fresh QR code.
        return open_attempt(order_id, provider_name)

    number = attempt_number(order.number, len(order.attempts) + 1)
    trade = NewTrade(
        out_trade_no=number,
        amount_fen=order.total_fen,
        subject=order.name,
        notify_url=notify_url(provider_name),
        expires_at=order.expires_at,
    )
    try:
        qr_text = chosen.create_qr(trade)
    except ProviderError as error:
        log.warning(
            "order %s: %s failed to create QR code %s: %s",
            order.number,
            provider_name,
            number,
            error,
        )
        # The previous QR codes are closed at their provider all the same, so the payment page
        # must stop showing them.
        mark_attempts_closed(results.closed)
        db.session.commit()
        raise AttemptRejected(f"{chosen.label}暂时无法生成二维码：{error.message}") from error

    mark_attempts_closed(results.closed)
    attempt = PaymentAttempt(
        order_id=order.id,
        provider=provider_name,
        out_trade_no=number,
        amount_fen=order.total_fen,
        qr_text=qr_text,
        status=AttemptStatus.OPEN,
        created_at=now(),
    )
    db.session.add(attempt)
    db.session.commit()
    log.info("order %s: QR code %s opened at %s", order.number, number, provider_name)
    return attempt


def _rejection_message(order: Order | None) -> str:
    if order is None:
        return "订单不存在，请回到订单管理刷新后重试。"
    if order.status == OrderStatus.PAID:
        return "该订单已付款，无需再次支付。"
    if order.status == OrderStatus.CANCELLED:
        return "该订单已取消，不能再支付；请回到缴费管理重新下单。"
    if order.expires_at <= now():
        return (
            f"该订单已超过{hold_hours_text()}小时付款期限，即将自动取消；请回到缴费管理重新下单。"
        )
    return ""


def notify_url(provider_name: str) -> str:
    """Build the URL the provider posts notifications to, on PAYMENT_NOTIFY_BASE_URL if set."""
    base = current_app.config["PAYMENT_NOTIFY_BASE_URL"].rstrip("/")
    path = url_for("payments.notify", provider_name=provider_name)
    return (
        base + path
        if base
        else url_for("payments.notify", provider_name=provider_name, _external=True)
    )
