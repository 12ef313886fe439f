"""Provider notifications through /payments/notify/<provider>: forged, replayed, mismatched,
unknown, duplicate and late ones, and the reconciliation job."""

import json
import re
import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment
from app.models.payment import (
    AttemptStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
    RefundStatus,
)
from app.payments.reconcile import reconcile_open_attempts
from app.payments.registry import provider
from app.payments.sandbox import SandboxProvider
from tests.conftest import extract_csrf, login
from tests.payment_support import ID_NUMBERS, add_approved, demo_unit, place_order
from tests.test_payments_orders import choose_method, open_attempts, order_id_from

URL = "/payments/notify/sandbox-wechat"


@pytest.fixture
def admin(client):
    login(client, "demo_admin", "demo123")
    return client


@pytest.fixture
def open_order(app, admin):
    """A pending 300-yuan order with an open sandbox WeChat QR code: (order id, attempt)."""
    with app.app_context():
        unit = demo_unit()
        ids = [add_approved(unit, f"学员{i}", ID_NUMBERS[i]).id for i in range(2)]
    order_id = order_id_from(place_order(admin, ids))
    choose_method(admin, order_id, "sandbox-wechat")
    [attempt] = open_attempts(app, order_id)
    return order_id, attempt


def take_money(app, out_trade_no: str, channel: str = "sandbox-wechat"):
    """The buyer pays at the sandbox; returns the signed notification it would send."""
    with app.test_request_context():
        signed = provider(channel).pay(out_trade_no)
    assert signed is not None
    return signed


def post(client, headers, body, url=URL):
    return client.post(url, data=body, headers=headers, content_type="application/json")


def snapshot(app, order_id):
    """Everything a notification may change, to compare before and after."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        attempts = [
            (a.status, a.transaction_id, a.refund_status)
            for a in db.session.scalars(
                select(PaymentAttempt)
                .where(PaymentAttempt.order_id == order_id)
                .order_by(PaymentAttempt.id)
            )
        ]
        enrollments = [
            (e.payment_status, e.pending_order_id, e.paid_order_id)
            for e in db.session.scalars(select(Enrollment).order_by(Enrollment.id))
        ]
        return order.status, order.paid_at, attempts, enrollments


def audit(app):
    with app.app_context():
        return [
            (n.provider, n.outcome)
            for n in db.session.scalars(
                select(PaymentNotification).order_by(PaymentNotification.id)
            )
        ]


def test_valid_notification_pays_and_is_answered_as_expected(app, client, open_order):
    order_id, attempt = open_order
    headers, body = take_money(app, attempt.out_trade_no)
    response = post(client, headers, body)
    assert response.status_code == 200
    assert response.get_json() == {"code": "SUCCESS"}
    status, paid_at, attempts, enrollments = snapshot(app, order_id)
    assert status == OrderStatus.PAID
    assert paid_at is not None
    assert attempts[0][0] == AttemptStatus.PAID
    assert attempts[0][1].startswith("SBX")
    assert enrollments == [(PaymentStatus.PAID, None, order_id)] * 2
    assert audit(app) == [("sandbox-wechat", "paid")]
    with app.app_context():
        stored = db.session.scalars(select(PaymentNotification)).one()
        assert json.loads(stored.body)["out_trade_no"] == attempt.out_trade_no
        assert "X-Sandbox-Signature" in json.loads(stored.headers_json)


def test_same_notification_twice_is_applied_once(app, client, open_order):
    order_id, attempt = open_order
    headers, body = take_money(app, attempt.out_trade_no)
    assert post(client, headers, body).status_code == 200
    after_first = snapshot(app, order_id)
    again = post(client, headers, body)
    assert again.status_code == 200
    assert again.get_json() == {"code": "SUCCESS"}
    assert snapshot(app, order_id) == after_first
    assert audit(app) == [("sandbox-wechat", "paid"), ("sandbox-wechat", "duplicate")]


def forged(app, attempt, **changes):
    """A notification for the attempt, changed after signing or signed wrongly."""
    with app.test_request_context():
        channel = provider("sandbox-wechat")
        if changes.get("key"):
            channel = SandboxProvider("sandbox-wechat", changes["key"])
        headers, body = channel.signed_notification(
            changes.get("out_trade_no", attempt.out_trade_no),
            changes.get("transaction_id", "SBXFORGED0001"),
            changes.get("amount_fen", attempt.amount_fen),
            merchant_id=changes.get("merchant_id", "sandbox"),
            timestamp=int(time.time()) - changes["age"] if "age" in changes else None,
        )
    if "tamper" in changes:
        body = body.replace(b'"amount_fen": 30000', changes["tamper"])
    return headers, body


@pytest.mark.parametrize(
    "changes",
    [
        {"key": "not-the-sandbox-key"},  # signed with someone else's key
        {"tamper": b'"amount_fen": 1'},  # body changed after signing
        {"age": 301},  # replayed after five minutes
        {"age": -301},  # from the future
        {"amount_fen": 1},  # signed, but the amount is not the order's
        {"out_trade_no": "36EL20990101000000999999999901"},  # an order we never made
        {"merchant_id": "another-merchant"},  # addressed to another merchant
    ],
    ids=["bad-key", "tampered", "stale", "future", "amount", "unknown", "merchant"],
)
def test_bad_notification_changes_nothing(app, client, open_order, changes):
    order_id, attempt = open_order
    before = snapshot(app, order_id)
    headers, body = forged(app, attempt, **changes)
    response = post(client, headers, body)
    assert response.status_code == 400
    assert response.get_json() == {"code": "FAIL"}
    assert snapshot(app, order_id) == before
    assert audit(app) == [("sandbox-wechat", "rejected")]


def test_missing_headers_and_junk_body_are_rejected(app, client, open_order):
    order_id, _ = open_order
    before = snapshot(app, order_id)
    assert post(client, {}, b"{}").status_code == 400
    assert post(client, {}, b"\xff\xfe not json").status_code == 400
    assert client.post("/payments/notify/no-such-provider", data=b"{}").status_code == 404
    assert snapshot(app, order_id) == before
    assert audit(app) == [("sandbox-wechat", "rejected")] * 2


def test_late_payment_kept_for_refund(app, admin, client, open_order):
    """Money taken for a cancelled order is recorded, never refused, and flagged for refund."""
    order_id, attempt = open_order
    headers, body = take_money(app, attempt.out_trade_no)
    # The order is cancelled in our books before the notification arrives (as if the close
    # at the provider had wrongly reported success).
    with app.app_context():
        from app.payments.settlement import release_enrollments

        order = db.session.get(Order, order_id)
        order.status = OrderStatus.CANCELLED
        db.session.execute(
            db.update(PaymentAttempt)
            .where(PaymentAttempt.id == attempt.id)
            .values(status=AttemptStatus.CLOSED)
        )
        release_enrollments(order_id)
        db.session.commit()
    response = post(client, headers, body)
    assert response.status_code == 200
    status, _, attempts, enrollments = snapshot(app, order_id)
    assert status == OrderStatus.CANCELLED
    assert attempts == [(AttemptStatus.PAID, attempts[0][1], RefundStatus.PENDING)]
    assert enrollments == [(PaymentStatus.UNPAID, None, None)] * 2
    assert audit(app) == [("sandbox-wechat", "late")]


def test_second_qr_payment_flagged_for_refund(app, admin, client, open_order):
    order_id, first = open_order
    choose_method(admin, order_id, "sandbox-alipay")
    _, second = open_attempts(app, order_id)
    # A platform that took money on the closed first QR code anyway.
    with app.app_context():
        db.session.execute(
            db.text("UPDATE sandbox_trades SET state = 'pending' WHERE out_trade_no = :n"),
            {"n": first.out_trade_no},
        )
        db.session.commit()
    late_headers, late_body = take_money(app, first.out_trade_no, "sandbox-wechat")
    headers, body = take_money(app, second.out_trade_no, "sandbox-alipay")
    assert post(client, headers, body, "/payments/notify/sandbox-alipay").status_code == 200
    assert post(client, late_headers, late_body).status_code == 200
    status, _, attempts, enrollments = snapshot(app, order_id)
    assert status == OrderStatus.PAID
    assert [(a[0], a[2]) for a in attempts] == [
        (AttemptStatus.PAID, RefundStatus.PENDING),
        (AttemptStatus.PAID, RefundStatus.NONE),
    ]
    assert enrollments == [(PaymentStatus.PAID, None, order_id)] * 2

    # Staff see it in 退款处理 and mark it refunded once.
    login(client, "reviewer", "reviewer123", role="staff")
    page = client.get("/orders/refunds").get_data(as_text=True)
    assert first.out_trade_no in page
    assert "订单已付款，重复支付" in page
    assert "待退款" in page
    done = client.post(
        f"/orders/refunds/{attempts and first.id}/done", data={"csrf_token": extract_csrf(page)}
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(PaymentAttempt, first.id).refund_status == RefundStatus.DONE


def test_reconciliation_finds_a_payment_whose_notification_was_lost(app, open_order):
    from datetime import timedelta

    from app.models.clock import set_offset

    order_id, attempt = open_order
    take_money(app, attempt.out_trade_no)  # the notification never arrives
    try:
        with app.test_request_context():
            assert reconcile_open_attempts() == {"paid": 0, "closed": 0, "pending": 0, "unknown": 0}
            set_offset(timedelta(minutes=3))
            assert reconcile_open_attempts() == {"paid": 1, "closed": 0, "pending": 0, "unknown": 0}
    finally:
        set_offset(timedelta(0))
    status, _, attempts, enrollments = snapshot(app, order_id)
    assert status == OrderStatus.PAID
    assert attempts[0][0] == AttemptStatus.PAID
    assert enrollments == [(PaymentStatus.PAID, None, order_id)] * 2


def test_wrong_amount_kept_for_refund(app, admin, open_order):
    """A provider reporting a payment of another amount: kept for refund, order not settled."""
    from app.payments.settlement import CancelOutcome, cancel_order

    order_id, attempt = open_order
    with app.app_context():
        db.session.execute(
            db.text("UPDATE sandbox_trades SET amount_fen = 100 WHERE out_trade_no = :n"),
            {"n": attempt.out_trade_no},
        )
        db.session.commit()
    take_money(app, attempt.out_trade_no)  # 1 yuan taken; the notification is lost
    with app.test_request_context():
        assert cancel_order(order_id, "测试取消") == CancelOutcome.CANCELLED
    status, _, attempts, enrollments = snapshot(app, order_id)
    assert status == OrderStatus.CANCELLED
    assert attempts == [(AttemptStatus.PAID, attempts[0][1], RefundStatus.PENDING)]
    assert enrollments == [(PaymentStatus.UNPAID, None, None)] * 2
    with app.app_context():
        stored = db.session.get(PaymentAttempt, attempt.id)
        assert (stored.paid_fen, stored.refund_reason) == (100, "支付金额与订单金额不符")


def test_unit_shown_refund_notice(app, admin, client, open_order):
    order_id, attempt = open_order
    headers, body = take_money(app, attempt.out_trade_no)
    with app.app_context():
        from app.payments.settlement import release_enrollments

        db.session.get(Order, order_id).status = OrderStatus.CANCELLED
        release_enrollments(order_id)
        db.session.commit()
    post(client, headers, body)
    html = admin.get(f"/orders/{order_id}").get_data(as_text=True)
    cell = re.search(rf'data-testid="refund-{attempt.out_trade_no}">(.*?)</td>', html, re.S)
    assert cell.group(1).strip() == "订单已取消后付款，该笔款项将由协会原路退回"
