"""Reconciliation: ask providers about QR codes still open, since notifications may be lost."""

import logging
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.clock import now
from app.models.payment import AttemptStatus, PaymentAttempt
from app.payments.providers.base import ProviderError, TradeState
from app.payments.registry import enabled_provider_names, provider
from app.payments.settlement import mark_attempts_closed, record_payment

log = logging.getLogger(__name__)

# A QR code younger than this is left to its notification.
QUIET_PERIOD = timedelta(minutes=2)


def reconcile_open_attempts() -> dict[str, int]:
    """Query each open attempt's provider, and record the payments and closures it reports.

    Returns counts by what the providers reported: paid, closed, pending, unknown.
    """
    counts = {"paid": 0, "closed": 0, "pending": 0, "unknown": 0}
    # Plain rows, not ORM objects: touching an expired object would start a new transaction,
    # and none may stay open across a provider call.
    rows = db.session.execute(
        select(PaymentAttempt.id, PaymentAttempt.provider, PaymentAttempt.out_trade_no)
        .where(
            PaymentAttempt.status == AttemptStatus.OPEN,
            PaymentAttempt.created_at <= now() - QUIET_PERIOD,
            PaymentAttempt.provider.in_(enabled_provider_names()),
        )
        .order_by(PaymentAttempt.id)
    ).all()
    db.session.rollback()
    for attempt_id, provider_name, out_trade_no in rows:
        try:
            trade = provider(provider_name).query(out_trade_no)
        except ProviderError as error:
            log.warning(
                "query of attempt %s (%s/%s) failed: %s",
                attempt_id,
                provider_name,
                out_trade_no,
                error,
            )
            counts["unknown"] += 1
            continue
        if trade.state == TradeState.PAID:
            record_payment(db.session.get(PaymentAttempt, attempt_id), trade, source="query")
            counts["paid"] += 1
        elif trade.state == TradeState.CLOSED:
            mark_attempts_closed([db.session.get(PaymentAttempt, attempt_id)])
            db.session.commit()
            counts["closed"] += 1
        else:
            counts["pending"] += 1
    if any(counts[key] for key in ("paid", "closed", "unknown")):
        log.info("reconciliation: %s", counts)
    return counts
