"""WeChat Pay and Alipay adapters wired into the payment pages and the notification route.

The providers' HTTP calls go to the fakes of the adapter tests; notifications are signed (and
for WeChat encrypted) with keys generated here, then posted to /payments/notify/<provider>.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment
from app.models.clock import now
from app.models.payment import (
    AttemptStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
)
from app.payments import registry
from app.payments.providers.alipay import AlipayConfig, AlipayProvider
from app.payments.providers.wechat import WeChatPayConfig, WeChatPayProvider
from tests.conftest import extract_csrf, login
from tests.payment_support import ID_NUMBERS, add_approved, demo_unit, place_order
from tests.test_payment_alipay import APP_ID, SELLER_ID, FakeAlipayGateway
from tests.test_payment_alipay import _notification as alipay_notification
from tests.test_payment_alipay import _notification_fields as alipay_fields
from tests.test_payment_wechat import (
    APPID,
    CERT_SERIAL_NO,
    MCHID,
    PUBLIC_KEY_ID,
    FakeWeChatPay,
    _paid_order,
    _private_key,
    _private_pem,
    _public_pem,
)
from tests.test_payment_wechat import _notification as wechat_notification
from tests.test_payments_orders import order_id_from


@pytest.fixture(scope="module")
def keys():
    return {name: _private_key() for name in ("merchant", "wechat", "app", "alipay")}


@pytest.fixture
def providers(app, keys, monkeypatch):
    """Enable wechat and alipay with generated keys; their HTTP calls go to the fakes."""
    apiv3_key = "0123456789abcdef0123456789abcdef"
    wechat = WeChatPayProvider(
        WeChatPayConfig(
            mchid=MCHID,
            appid=APPID,
            private_key=_private_pem(keys["merchant"]),
            cert_serial_no=CERT_SERIAL_NO,
            apiv3_key=apiv3_key,
            public_key=_public_pem(keys["wechat"]),
            public_key_id=PUBLIC_KEY_ID,
        )
    )
    alipay = AlipayProvider(
        AlipayConfig(
            app_id=APP_ID,
            app_private_key=_private_pem(keys["app"]),
            alipay_public_key=_public_pem(keys["alipay"]),
            seller_id=SELLER_ID,
        )
    )
    wechat_api = FakeWeChatPay(keys["wechat"])
    alipay_api = FakeAlipayGateway(keys["app"], keys["alipay"])
    monkeypatch.setattr("wechatpayv3.core.requests", wechat_api)
    monkeypatch.setattr("alipay.urlopen", alipay_api)
    monkeypatch.setitem(app.config, "PAYMENT_PROVIDERS", ["wechat", "alipay"])
    monkeypatch.setitem(registry._cache, "wechat", wechat)
    monkeypatch.setitem(registry._cache, "alipay", alipay)
    return {"wechat": wechat_api, "alipay": alipay_api, "apiv3_key": apiv3_key}


@pytest.fixture
def order_id(app, client):
    login(client, "demo_admin", "demo123")
    with app.app_context():
        enrollment_id = add_approved(demo_unit(), "白露", ID_NUMBERS[0]).id
    return order_id_from(place_order(client, [enrollment_id]))


def choose(client, order_id, name):
    page = client.get(f"/orders/{order_id}/pay").get_data(as_text=True)
    return client.post(
        f"/orders/{order_id}/pay", data={"csrf_token": extract_csrf(page), "provider": name}
    )


def paid_state(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        enrollment = db.session.scalar(select(Enrollment))
        outcomes = [n.outcome for n in db.session.scalars(select(PaymentNotification))]
        return order.status, enrollment.payment_status, outcomes


def the_attempt(app, order_id) -> PaymentAttempt:
    with app.app_context():
        return db.session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.order_id == order_id)
            .order_by(PaymentAttempt.id.desc())
        ).first()


def test_wechat_qr_and_notification_pay_the_order(app, client, providers, order_id):
    providers["wechat"].reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=TestQr01"})
    assert choose(client, order_id, "wechat").status_code == 302
    attempt = the_attempt(app, order_id)
    [request] = providers["wechat"].calls
    assert request.json["out_trade_no"] == attempt.out_trade_no
    assert request.json["amount"] == {"total": 15000, "currency": "CNY"}
    assert request.json["notify_url"] == "http://localhost/payments/notify/wechat"
    page = client.get(f"/orders/{order_id}/pay").get_data(as_text=True)
    assert 'alt="微信支付付款二维码"' in page

    resource = _paid_order(
        out_trade_no=attempt.out_trade_no,
        amount={"total": 15000, "payer_total": 15000, "currency": "CNY", "payer_currency": "CNY"},
    )
    headers, body = wechat_notification(
        providers["wechat"].platform_key,
        providers["apiv3_key"],
        resource,
        sent_at=datetime.now(UTC),
    )
    response = client.post("/payments/notify/wechat", data=body, headers=headers)
    assert response.status_code == 204
    assert paid_state(app, order_id) == (OrderStatus.PAID, PaymentStatus.PAID, ["paid"])
    with app.app_context():
        stored = db.session.get(PaymentAttempt, attempt.id)
        assert stored.transaction_id == resource["transaction_id"]
        assert stored.status == AttemptStatus.PAID

    # WeChat retries: the same notification again is acknowledged and changes nothing.
    again = client.post("/payments/notify/wechat", data=body, headers=headers)
    assert again.status_code == 204
    assert paid_state(app, order_id) == (
        OrderStatus.PAID,
        PaymentStatus.PAID,
        ["paid", "duplicate"],
    )


def test_wechat_notification_for_another_amount_is_refused(app, client, providers, order_id):
    providers["wechat"].reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=TestQr01"})
    choose(client, order_id, "wechat")
    attempt = the_attempt(app, order_id)
    resource = _paid_order(out_trade_no=attempt.out_trade_no)  # 15000 fen...
    resource["amount"] = {"total": 1, "payer_total": 1, "currency": "CNY", "payer_currency": "CNY"}
    headers, body = wechat_notification(
        providers["wechat"].platform_key,
        providers["apiv3_key"],
        resource,
        sent_at=datetime.now(UTC),
    )
    response = client.post("/payments/notify/wechat", data=body, headers=headers)
    assert response.status_code == 400
    assert json.loads(response.data)["code"] == "FAIL"
    assert paid_state(app, order_id) == (OrderStatus.PENDING, PaymentStatus.UNPAID, ["rejected"])


def test_switching_to_alipay_closes_the_wechat_qr_first(app, client, providers, order_id):
    providers["wechat"].reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=TestQr01"})
    choose(client, order_id, "wechat")
    first = the_attempt(app, order_id)
    providers["wechat"].reply(204)  # close
    providers["alipay"].reply(
        {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": "x",
            "qr_code": "https://qr.alipay.com/bax1",
        }
    )
    assert choose(client, order_id, "alipay").status_code == 302
    close_call = providers["wechat"].calls[-1]
    assert close_call.url.endswith(f"/v3/pay/transactions/out-trade-no/{first.out_trade_no}/close")
    [precreate] = providers["alipay"].requests
    second = the_attempt(app, order_id)
    assert precreate.params["method"] == "alipay.trade.precreate"
    assert precreate.biz_content["out_trade_no"] == second.out_trade_no
    assert precreate.biz_content["total_amount"] == "150.00"
    with app.app_context():
        assert db.session.get(PaymentAttempt, first.id).status == AttemptStatus.CLOSED

    fields = alipay_fields(
        out_trade_no=second.out_trade_no,
        notify_time=now().strftime("%Y-%m-%d %H:%M:%S"),
        gmt_payment=now().strftime("%Y-%m-%d %H:%M:%S"),
    )
    body = alipay_notification(keys_alipay(providers), fields)
    response = client.post(
        "/payments/notify/alipay", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert (response.status_code, response.data) == (200, b"success")
    assert paid_state(app, order_id) == (OrderStatus.PAID, PaymentStatus.PAID, ["paid"])


def test_alipay_notification_signed_with_another_key_is_refused(
    app, client, providers, order_id, keys
):
    providers["alipay"].reply(
        {"code": "10000", "msg": "Success", "qr_code": "https://qr.alipay.com/b"}
    )
    choose(client, order_id, "alipay")
    attempt = the_attempt(app, order_id)
    fields = alipay_fields(
        out_trade_no=attempt.out_trade_no, notify_time=now().strftime("%Y-%m-%d %H:%M:%S")
    )
    body = alipay_notification(keys["app"], fields)  # the merchant's own key, not Alipay's
    response = client.post(
        "/payments/notify/alipay", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert (response.status_code, response.data) == (200, b"fail")
    assert paid_state(app, order_id) == (OrderStatus.PENDING, PaymentStatus.UNPAID, ["rejected"])


def test_unreachable_provider_keeps_the_previous_qr_open(app, client, providers, order_id):
    import requests

    providers["wechat"].reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=TestQr01"})
    choose(client, order_id, "wechat")
    first = the_attempt(app, order_id)
    # Close fails and the follow-up query fails too: the outcome is unknown.
    providers["wechat"].fail(requests.ConnectionError("down"))
    providers["wechat"].fail(requests.ConnectionError("down"))
    response = choose(client, order_id, "alipay")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "上一个二维码暂时无法关闭" in page
    with app.app_context():
        attempts = db.session.scalars(select(PaymentAttempt)).all()
        assert [(a.id, a.status) for a in attempts] == [(first.id, AttemptStatus.OPEN)]
    assert not providers["alipay"].requests


def keys_alipay(providers):
    return providers["alipay"].alipay_key


def test_timer_cancels_with_provider_close(app, client, providers, order_id):
    from app.models.clock import set_offset
    from app.payments.hold import expire_order

    providers["wechat"].reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=TestQr01"})
    choose(client, order_id, "wechat")
    providers["wechat"].reply(204)
    set_offset(timedelta(hours=48, minutes=1))
    try:
        with app.app_context():
            assert expire_order(order_id) == "cancelled"
    finally:
        set_offset(timedelta(0))
    assert providers["wechat"].calls[-1].url.endswith("/close")
    assert paid_state(app, order_id)[0] == OrderStatus.CANCELLED


def test_authentic_refund_notice_is_acknowledged_without_effect(app, client, providers, order_id):
    """A signed notice that reports no payment is acknowledged, so the provider stops retrying."""
    providers["alipay"].reply(
        {"code": "10000", "msg": "Success", "qr_code": "https://qr.alipay.com/b"}
    )
    choose(client, order_id, "alipay")
    attempt = the_attempt(app, order_id)
    fields = alipay_fields(
        out_trade_no=attempt.out_trade_no,
        trade_status="TRADE_CLOSED",
        notify_time=now().strftime("%Y-%m-%d %H:%M:%S"),
    )
    body = alipay_notification(keys_alipay(providers), fields)
    response = client.post(
        "/payments/notify/alipay", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert (response.status_code, response.data) == (200, b"success")
    assert paid_state(app, order_id) == (OrderStatus.PENDING, PaymentStatus.UNPAID, ["ignored"])
