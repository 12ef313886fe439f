"""Handling a provider's payment notification: verify, match, apply once, audit, respond.

Both providers retry for about a day until they get the response they expect, so a
notification already applied is acknowledged as accepted and changes nothing. Every
notification is stored as received, whatever became of it.
"""

import json
import logging

from sqlalchemy import select

from app.extensions import db
from app.models.payment import PaymentAttempt, PaymentNotification
from app.payments.providers.base import (
    NotificationIgnored,
    NotificationRejected,
    PaymentProvider,
)
from app.payments.registry import provider
from app.payments.settlement import record_payment

log = logging.getLogger(__name__)

# Headers worth keeping for the audit trail; cookies and the like are not.
AUDIT_HEADER_PREFIXES = ("wechatpay-", "x-sandbox-", "content-type", "user-agent")


def handle_notification(
    provider_name: str, headers: dict[str, str], body: bytes
) -> tuple[bytes, int, dict[str, str]]:
    """Apply one notification and return the HTTP response (body, status, headers) it expects."""
    try:
        chosen = provider(provider_name)
    except KeyError:
        log.warning("notification for provider %r, which is not enabled", provider_name)
        return b"unknown provider", 404, {"Content-Type": "text/plain"}

    try:
        outcome, attempt_id, detail = _apply(chosen, headers, body)
    except NotificationIgnored as ignored:
        _audit(provider_name, headers, body, "ignored", str(ignored), None)
        log.info("notification from %s acknowledged without effect: %s", provider_name, ignored)
        return chosen.acknowledgement(True)
    except NotificationRejected as rejection:
        _audit(provider_name, headers, body, "rejected", str(rejection), None)
        log.warning("notification from %s rejected: %s", provider_name, rejection)
        return chosen.acknowledgement(False)

    _audit(provider_name, headers, body, outcome, detail, attempt_id)
    return chosen.acknowledgement(True)


def _apply(chosen: PaymentProvider, headers: dict[str, str], body: bytes) -> tuple[str, int, str]:
    notification = chosen.parse_notification(headers, body)
    trade = notification.trade
    attempt = db.session.scalar(
        select(PaymentAttempt).where(
            PaymentAttempt.provider == chosen.name,
            PaymentAttempt.out_trade_no == trade.out_trade_no,
        )
    )
    if attempt is None:
        raise NotificationRejected(f"out_trade_no {trade.out_trade_no!r} not found")
    if trade.amount_fen != attempt.amount_fen:
        raise NotificationRejected(
            f"amount {trade.amount_fen} fen for {trade.out_trade_no}, expected {attempt.amount_fen}"
        )
    if attempt.transaction_id and attempt.transaction_id != trade.transaction_id:
        raise NotificationRejected(
            f"{trade.out_trade_no} was paid by {attempt.transaction_id}, not {trade.transaction_id}"
        )
    attempt_id = attempt.id
    outcome = record_payment(attempt, trade, source="notification")
    return outcome, attempt_id, f"{trade.out_trade_no} {trade.transaction_id}"


def _audit(
    provider_name: str,
    headers: dict[str, str],
    body: bytes,
    outcome: str,
    detail: str,
    attempt_id: int | None,
) -> None:
    audit_headers = {
        name: value
        for name, value in headers.items()
        if name.lower().startswith(AUDIT_HEADER_PREFIXES)
    }
    db.session.rollback()  # nothing of a rejected notification may be written
    db.session.add(
        PaymentNotification(
            provider=provider_name,
            headers_json=json.dumps(audit_headers, ensure_ascii=False),
            body=body.decode("utf-8", errors="replace")[:100_000],
            outcome=outcome,
            detail=detail[:300],
            attempt_id=attempt_id,
        )
    )
    db.session.commit()
