"""The WeChat Pay Native adapter against a fake WeChat Pay API, with keys made per session.

The fake replaces the ``requests`` module inside wechatpayv3.core and signs its responses
with the generated platform key, so the SDK's own response verification runs too.
"""

import base64
import json
import secrets
import socket
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from requests.structures import CaseInsensitiveDict

from app.payments.providers.base import (
    NewTrade,
    Notification,
    NotificationRejected,
    ProviderError,
    TradeResult,
    TradeState,
)
from app.payments.providers.wechat import WeChatPayConfig, WeChatPayProvider

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092024120600000000"
CERT_SERIAL_NO = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
GATEWAY = "https://api.mch.weixin.qq.com"
OUT_TRADE_NO = "36EL20231017174447022994653101"
TRANSACTION_ID = "4200001234202612061234567890"
# 10:00 China Standard Time on 6 December 2026.
NOW = datetime(2026, 12, 6, 2, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean_database():
    """Replace the suite's per-test database reset: the adapters never touch the database."""
    yield


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(self, address):
        raise AssertionError(f"test tried to connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _sign(key, message: str) -> str:
    signature = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


@pytest.fixture(scope="session")
def merchant_key():
    return _private_key()


@pytest.fixture(scope="session")
def platform_key():
    """The key WeChat Pay signs with. Its public half is configured as the public key."""
    return _private_key()


@pytest.fixture(scope="session")
def stranger_key():
    return _private_key()


@pytest.fixture(scope="session")
def apiv3_key() -> str:
    return secrets.token_hex(16)  # 32 ASCII characters, as WeChat Pay's APIv3 keys are


@pytest.fixture(scope="session")
def config(merchant_key, platform_key, apiv3_key) -> WeChatPayConfig:
    return WeChatPayConfig(
        mchid=MCHID,
        appid=APPID,
        private_key=_private_pem(merchant_key),
        cert_serial_no=CERT_SERIAL_NO,
        apiv3_key=apiv3_key,
        public_key=_public_pem(platform_key),
        public_key_id=PUBLIC_KEY_ID,
        timeout=7.5,
    )


@pytest.fixture
def provider(config) -> WeChatPayProvider:
    return WeChatPayProvider(config, clock=lambda: NOW)


# --- Fake WeChat Pay API ---------------------------------------------------------------------


@dataclass
class FakeResponse:
    status_code: int
    text: str
    headers: CaseInsensitiveDict

    @property
    def content(self) -> bytes:
        return self.text.encode("utf-8")


@dataclass
class Call:
    method: str
    url: str
    json: dict | None
    headers: dict
    timeout: object


@dataclass
class FakeWeChatPay:
    """Stands in for the ``requests`` module that wechatpayv3.core calls."""

    platform_key: object
    calls: list[Call] = field(default_factory=list)
    replies: list = field(default_factory=list)

    def reply(self, status: int, body: dict | None = None, signed_by=None, serial=PUBLIC_KEY_ID):
        text = json.dumps(body, ensure_ascii=False) if body is not None else ""
        headers = CaseInsensitiveDict()
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        timestamp = str(int(datetime.now(UTC).timestamp()))
        nonce = secrets.token_hex(16)
        key = signed_by or self.platform_key
        headers["Wechatpay-Timestamp"] = timestamp
        headers["Wechatpay-Nonce"] = nonce
        headers["Wechatpay-Serial"] = serial
        headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SHA256-RSA2048"
        headers["Wechatpay-Signature"] = _sign(key, f"{timestamp}\n{nonce}\n{text}\n")
        self.replies.append(FakeResponse(status, text, headers))

    def fail(self, error: Exception):
        self.replies.append(error)

    def get(self, url, headers=None, proxies=None, timeout=None):
        return self._answer(Call("GET", url, None, dict(headers), timeout))

    def post(self, url, json=None, data=None, headers=None, files=None, proxies=None, timeout=None):
        return self._answer(Call("POST", url, json, dict(headers), timeout))

    def _answer(self, call: Call):
        self.calls.append(call)
        assert self.replies, f"unexpected request {call.method} {call.url}"
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture
def wechat(monkeypatch, platform_key) -> FakeWeChatPay:
    fake = FakeWeChatPay(platform_key)
    monkeypatch.setattr("wechatpayv3.core.requests", fake)
    return fake


def _paid_order(**changes) -> dict:
    order = {
        "appid": APPID,
        "mchid": MCHID,
        "out_trade_no": OUT_TRADE_NO,
        "transaction_id": TRANSACTION_ID,
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2026-12-06T09:58:30+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": 15000,
            "payer_total": 15000,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    order.update(changes)
    return order


# --- create_qr -------------------------------------------------------------------------------


def test_create_qr_request_payload(provider, wechat):
    wechat.reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"})
    trade = NewTrade(
        out_trade_no=OUT_TRADE_NO,
        amount_fen=15000,
        subject="20231017174447线上培训费订单",
        notify_url="https://pay.example.cn/payments/notify/wechat",
        expires_at=datetime(2026, 12, 6, 10, 0, 0),
    )

    code_url = provider.create_qr(trade)

    assert code_url == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"
    assert len(wechat.calls) == 1
    call = wechat.calls[0]
    assert call.method == "POST"
    assert call.url == f"{GATEWAY}/v3/pay/transactions/native"
    assert call.json == {
        "appid": APPID,
        "mchid": MCHID,
        "description": "20231017174447线上培训费订单",
        "out_trade_no": OUT_TRADE_NO,
        "amount": {"total": 15000, "currency": "CNY"},
        "time_expire": "2026-12-06T10:00:00+08:00",
        "notify_url": "https://pay.example.cn/payments/notify/wechat",
    }
    assert type(call.json["amount"]["total"]) is int
    assert call.timeout == 7.5
    assert call.headers["Wechatpay-Serial"] == PUBLIC_KEY_ID
    assert call.headers["Authorization"].startswith(f'WECHATPAY2-SHA256-RSA2048 mchid="{MCHID}",')
    assert f'serial_no="{CERT_SERIAL_NO}"' in call.headers["Authorization"]


def test_create_qr_aware_expiry_and_one_fen(provider, wechat):
    wechat.reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=abc"})
    trade = NewTrade(
        OUT_TRADE_NO, 1, "订单", "https://pay.example.cn/n", datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    )

    provider.create_qr(trade)

    assert wechat.calls[0].json["amount"] == {"total": 1, "currency": "CNY"}
    assert wechat.calls[0].json["time_expire"] == "2026-12-06T10:00:00+08:00"


def test_create_qr_without_expiry(provider, wechat):
    wechat.reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=abc"})

    provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", "https://pay.example.cn/n"))

    assert "time_expire" not in wechat.calls[0].json


def test_create_qr_error_status(provider, wechat):
    wechat.reply(400, {"code": "PARAM_ERROR", "message": "参数错误"})

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", "https://pay.example.cn/n"))

    assert raised.value.message == "微信支付下单失败，请稍后重试。"
    assert "HTTP 400 PARAM_ERROR" in str(raised.value)


def test_create_qr_connection_error(provider, wechat):
    wechat.fail(requests.ConnectionError("connection refused"))

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", "https://pay.example.cn/n"))

    assert raised.value.message == "无法连接微信支付，请稍后重试。"


def test_create_qr_timeout(provider, wechat):
    wechat.fail(requests.Timeout("read timed out"))

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", "https://pay.example.cn/n"))

    assert raised.value.message == "无法连接微信支付，请稍后重试。"


def test_create_qr_forged_response(provider, wechat, stranger_key):
    wechat.reply(200, {"code_url": "weixin://wxpay/bizpayurl?pr=forged"}, signed_by=stranger_key)

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", "https://pay.example.cn/n"))

    assert raised.value.message == "微信支付下单失败，请稍后重试。"
    assert "failed to verify the signature" in str(raised.value)


def test_create_qr_missing_code_url(provider, wechat):
    wechat.reply(200, {"prepay_id": "wx201410272009395522657a690389285100"})

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", "https://pay.example.cn/n"))

    assert "no code_url" in str(raised.value)


@pytest.mark.parametrize("out_trade_no", ["12345", "a" * 33, "36EL/../close", "订单号123456"])
def test_create_qr_invalid_out_trade_no(provider, wechat, out_trade_no):
    with pytest.raises(ValueError, match="invalid out_trade_no"):
        provider.create_qr(NewTrade(out_trade_no, 100, "订单", "https://pay.example.cn/n"))
    assert wechat.calls == []


@pytest.mark.parametrize("amount", [0, -1])
def test_create_qr_invalid_amount(provider, wechat, amount):
    with pytest.raises(ValueError, match="amount_fen must be positive"):
        provider.create_qr(NewTrade(OUT_TRADE_NO, amount, "订单", "https://pay.example.cn/n"))
    assert wechat.calls == []


# --- close -----------------------------------------------------------------------------------


def test_close_no_content(provider, wechat):
    wechat.reply(204)

    result = provider.close(OUT_TRADE_NO)

    assert result == TradeResult(OUT_TRADE_NO, TradeState.CLOSED)
    assert wechat.calls[0].method == "POST"
    assert wechat.calls[0].url == f"{GATEWAY}/v3/pay/transactions/out-trade-no/{OUT_TRADE_NO}/close"
    assert wechat.calls[0].json == {"mchid": MCHID}


def test_close_order_paid_queries(provider, wechat):
    wechat.reply(400, {"code": "ORDERPAID", "message": "该订单已支付"})
    wechat.reply(200, _paid_order())

    result = provider.close(OUT_TRADE_NO)

    assert result.state is TradeState.PAID
    assert result.transaction_id == TRANSACTION_ID
    assert result.amount_fen == 15000
    assert result.paid_at == datetime(2026, 12, 6, 9, 58, 30)
    assert result.out_trade_no == OUT_TRADE_NO
    assert wechat.calls[1].method == "GET"
    assert (
        wechat.calls[1].url
        == f"{GATEWAY}/v3/pay/transactions/out-trade-no/{OUT_TRADE_NO}?mchid={MCHID}"
    )


def test_close_failure_then_closed(provider, wechat):
    wechat.reply(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
    wechat.reply(200, {"out_trade_no": OUT_TRADE_NO, "trade_state": "CLOSED"})

    result = provider.close(OUT_TRADE_NO)

    assert result.state is TradeState.CLOSED
    assert len(wechat.calls) == 2


def test_close_failure_still_unpaid(provider, wechat):
    wechat.reply(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
    wechat.reply(200, {"out_trade_no": OUT_TRADE_NO, "trade_state": "NOTPAY"})

    with pytest.raises(ProviderError) as raised:
        provider.close(OUT_TRADE_NO)

    assert raised.value.message == "关闭微信支付订单失败，请稍后重试。"
    assert "SYSTEM_ERROR" in str(raised.value)


def test_close_timeout_then_paid(provider, wechat):
    wechat.fail(requests.Timeout("read timed out"))
    wechat.reply(200, _paid_order())

    result = provider.close(OUT_TRADE_NO)

    assert result.state is TradeState.PAID
    assert result.amount_fen == 15000


def test_close_unreachable(provider, wechat):
    wechat.fail(requests.ConnectionError("connection refused"))
    wechat.fail(requests.ConnectionError("connection refused"))

    with pytest.raises(ProviderError) as raised:
        provider.close(OUT_TRADE_NO)

    assert raised.value.message == "无法连接微信支付，请稍后重试。"
    assert len(wechat.calls) == 2


# --- query -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trade_state", "state"),
    [
        ("NOTPAY", TradeState.PENDING),
        ("USERPAYING", TradeState.PENDING),
        ("CLOSED", TradeState.CLOSED),
        ("REVOKED", TradeState.CLOSED),
        ("PAYERROR", TradeState.CLOSED),
    ],
)
def test_query_unpaid_states(provider, wechat, trade_state, state):
    body = {
        "appid": APPID,
        "mchid": MCHID,
        "out_trade_no": OUT_TRADE_NO,
        "trade_state": trade_state,
    }
    wechat.reply(200, body)

    result = provider.query(OUT_TRADE_NO)

    assert result == TradeResult(OUT_TRADE_NO, state, raw=body)


@pytest.mark.parametrize("trade_state", ["SUCCESS", "REFUND"])
def test_query_paid_states(provider, wechat, trade_state):
    wechat.reply(200, _paid_order(trade_state=trade_state))

    result = provider.query(OUT_TRADE_NO)

    assert result == TradeResult(
        OUT_TRADE_NO,
        TradeState.PAID,
        transaction_id=TRANSACTION_ID,
        amount_fen=15000,
        paid_at=datetime(2026, 12, 6, 9, 58, 30),
        raw=_paid_order(trade_state=trade_state),
    )


def test_query_success_time_in_utc(provider, wechat):
    wechat.reply(200, _paid_order(success_time="2026-12-06T01:58:30Z"))

    assert provider.query(OUT_TRADE_NO).paid_at == datetime(2026, 12, 6, 9, 58, 30)


def test_query_order_not_exist(provider, wechat):
    wechat.reply(404, {"code": "ORDERNOTEXIST", "message": "订单不存在"})

    result = provider.query(OUT_TRADE_NO)

    assert result.state is TradeState.CLOSED
    assert result.raw == {"code": "ORDERNOTEXIST", "message": "订单不存在"}


def test_query_error_status(provider, wechat):
    wechat.reply(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})

    with pytest.raises(ProviderError) as raised:
        provider.query(OUT_TRADE_NO)

    assert raised.value.message == "查询微信支付订单失败，请稍后重试。"
    assert "HTTP 500 SYSTEM_ERROR" in str(raised.value)


def test_query_connection_error(provider, wechat):
    wechat.fail(requests.ConnectionError("connection refused"))

    with pytest.raises(ProviderError) as raised:
        provider.query(OUT_TRADE_NO)

    assert raised.value.message == "无法连接微信支付，请稍后重试。"


def test_query_unknown_trade_state(provider, wechat):
    wechat.reply(200, {"out_trade_no": OUT_TRADE_NO, "trade_state": "ACCEPT"})

    with pytest.raises(ProviderError, match="unknown trade_state 'ACCEPT'"):
        provider.query(OUT_TRADE_NO)


def test_query_other_order(provider, wechat):
    wechat.reply(200, _paid_order(out_trade_no="36EL20231017174447022994653102"))

    with pytest.raises(ProviderError, match="returned order"):
        provider.query(OUT_TRADE_NO)


def test_query_paid_without_amount(provider, wechat):
    order = _paid_order()
    del order["amount"]
    wechat.reply(200, order)

    with pytest.raises(ProviderError, match="amount is missing"):
        provider.query(OUT_TRADE_NO)


# --- Notifications ---------------------------------------------------------------------------


def _notification(
    platform_key,
    apiv3_key: str,
    resource: dict | None = None,
    *,
    event_type: str = "TRANSACTION.SUCCESS",
    sent_at: datetime = NOW,
    serial: str = PUBLIC_KEY_ID,
    raw_body: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """Build the headers and body WeChat Pay POSTs, encrypted and signed as WeChat Pay does."""
    if raw_body is None:
        resource_nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay sends
        associated_data = "transaction"
        plaintext = json.dumps(resource or _paid_order(), ensure_ascii=False).encode("utf-8")
        ciphertext = AESGCM(apiv3_key.encode()).encrypt(
            resource_nonce.encode(), plaintext, associated_data.encode()
        )
        envelope = {
            "id": "EV-2018022511223320873",
            "create_time": "2026-12-06T09:58:31+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": associated_data,
                "nonce": resource_nonce,
            },
        }
        raw_body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(sent_at.timestamp()))
    nonce = secrets.token_hex(16)
    signed = f"{timestamp}\n{nonce}\n{raw_body.decode('utf-8')}\n"
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Wechatpay-Signature": _sign(platform_key, signed),
        "Content-Type": "application/json",
    }
    return headers, raw_body


def test_notification_valid(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key)

    notification = provider.parse_notification(headers, body)

    assert notification == Notification(
        trade=TradeResult(
            OUT_TRADE_NO,
            TradeState.PAID,
            transaction_id=TRANSACTION_ID,
            amount_fen=15000,
            paid_at=datetime(2026, 12, 6, 9, 58, 30),
            raw=_paid_order(),
        ),
        merchant_id=MCHID,
    )
    assert wechat.calls == []


def test_notification_lowercase_headers(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key)
    lowercase = {name.lower(): value for name, value in headers.items()}

    assert provider.parse_notification(lowercase, body).trade.state is TradeState.PAID


@pytest.mark.parametrize("total", [1, 15000, 123450])
def test_notification_amounts(provider, wechat, platform_key, apiv3_key, total):
    resource = _paid_order(amount={"total": total, "payer_total": total, "currency": "CNY"})
    headers, body = _notification(platform_key, apiv3_key, resource)

    assert provider.parse_notification(headers, body).trade.amount_fen == total


@pytest.mark.parametrize("total", ["15000", 150.0, True, -1, None])
def test_notification_invalid_amount(provider, wechat, platform_key, apiv3_key, total):
    resource = _paid_order(amount={"total": total, "currency": "CNY"})
    headers, body = _notification(platform_key, apiv3_key, resource)

    with pytest.raises(NotificationRejected, match="amount.total"):
        provider.parse_notification(headers, body)


def test_notification_foreign_currency(provider, wechat, platform_key, apiv3_key):
    resource = _paid_order(amount={"total": 100, "currency": "USD"})
    headers, body = _notification(platform_key, apiv3_key, resource)

    with pytest.raises(NotificationRejected, match="currency 'USD'"):
        provider.parse_notification(headers, body)


def test_notification_tampered_body(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key)
    tampered = body.replace("支付成功".encode(), "支付失败".encode())
    assert tampered != body

    with pytest.raises(NotificationRejected, match="signature verification"):
        provider.parse_notification(headers, tampered)


def test_notification_reserialised_body(provider, wechat, platform_key, apiv3_key):
    """Re-encoding the parsed JSON changes the bytes, so the signature no longer matches."""
    headers, body = _notification(platform_key, apiv3_key)
    reencoded = json.dumps(json.loads(body)).encode()
    assert reencoded != body

    with pytest.raises(NotificationRejected, match="signature verification"):
        provider.parse_notification(headers, reencoded)


def test_notification_wrong_signing_key(provider, wechat, stranger_key, apiv3_key):
    headers, body = _notification(stranger_key, apiv3_key)

    with pytest.raises(NotificationRejected, match="signature verification"):
        provider.parse_notification(headers, body)


def test_notification_wrong_apiv3_key(provider, wechat, platform_key):
    headers, body = _notification(platform_key, secrets.token_hex(16))

    with pytest.raises(NotificationRejected, match="decryption"):
        provider.parse_notification(headers, body)


@pytest.mark.parametrize(
    ("sent_at", "reason"),
    [
        (NOW - timedelta(minutes=6), "old, over the 5 minute limit"),
        (NOW + timedelta(minutes=6), "in the future, over the 5 minute limit"),
        (NOW - timedelta(days=30), "old, over the 5 minute limit"),
    ],
)
def test_notification_timestamp_outside_window(
    provider, wechat, platform_key, apiv3_key, sent_at, reason
):
    headers, body = _notification(platform_key, apiv3_key, sent_at=sent_at)

    with pytest.raises(NotificationRejected, match=reason):
        provider.parse_notification(headers, body)


@pytest.mark.parametrize("offset", [timedelta(minutes=-4, seconds=-59), timedelta(minutes=4)])
def test_notification_timestamp_inside_window(provider, wechat, platform_key, apiv3_key, offset):
    headers, body = _notification(platform_key, apiv3_key, sent_at=NOW + offset)

    assert provider.parse_notification(headers, body).trade.state is TradeState.PAID


@pytest.mark.parametrize("timestamp", ["", "1.7e9", "abc", "-1", "９９"])
def test_notification_invalid_timestamp(provider, wechat, platform_key, apiv3_key, timestamp):
    headers, body = _notification(platform_key, apiv3_key)
    headers["Wechatpay-Timestamp"] = timestamp

    with pytest.raises(NotificationRejected, match="Wechatpay-Timestamp"):
        provider.parse_notification(headers, body)


def test_notification_unknown_serial_no_network(provider, wechat, platform_key, apiv3_key):
    # A certificate-style serial: the SDK would download /v3/certificates to look it up.
    headers, body = _notification(
        platform_key, apiv3_key, serial="5157F09EFDC096DE15EBE81A47057A72"
    )

    with pytest.raises(NotificationRejected, match="is not our public key id"):
        provider.parse_notification(headers, body)

    assert wechat.calls == []


@pytest.mark.parametrize(
    "header", ["Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"]
)
def test_notification_missing_header(provider, wechat, platform_key, apiv3_key, header):
    headers, body = _notification(platform_key, apiv3_key)
    del headers[header]

    with pytest.raises(NotificationRejected, match=f"missing header {header}"):
        provider.parse_notification(headers, body)


def test_notification_foreign_mchid(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key, _paid_order(mchid="1900000110"))

    with pytest.raises(NotificationRejected, match="mchid '1900000110' is not ours"):
        provider.parse_notification(headers, body)


def test_notification_foreign_appid(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key, _paid_order(appid="wx0000000000000000"))

    with pytest.raises(NotificationRejected, match="appid 'wx0000000000000000' is not ours"):
        provider.parse_notification(headers, body)


@pytest.mark.parametrize("trade_state", ["NOTPAY", "CLOSED", "REFUND", "PAYERROR"])
def test_notification_not_success_state(provider, wechat, platform_key, apiv3_key, trade_state):
    headers, body = _notification(platform_key, apiv3_key, _paid_order(trade_state=trade_state))

    with pytest.raises(NotificationRejected, match=f"trade_state '{trade_state}' is not SUCCESS"):
        provider.parse_notification(headers, body)


def test_notification_other_event(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key, event_type="REFUND.SUCCESS")

    with pytest.raises(NotificationRejected, match="event_type 'REFUND.SUCCESS'"):
        provider.parse_notification(headers, body)


def test_notification_missing_out_trade_no(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key, _paid_order(out_trade_no=""))

    with pytest.raises(NotificationRejected, match="out_trade_no is missing"):
        provider.parse_notification(headers, body)


def test_notification_invalid_success_time(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(
        platform_key, apiv3_key, _paid_order(success_time="2026-12-06 09:58:30")
    )

    with pytest.raises(NotificationRejected, match="success_time"):
        provider.parse_notification(headers, body)


@pytest.mark.parametrize("raw_body", [b"{not json", b"[]", b"\xff\xfe{}", b""])
def test_notification_malformed_body(provider, wechat, platform_key, apiv3_key, raw_body):
    # Signed correctly, so only the body's content is wrong.
    if raw_body == b"\xff\xfe{}":
        headers, _ = _notification(platform_key, apiv3_key, raw_body=b"{}")
    else:
        headers, _ = _notification(platform_key, apiv3_key, raw_body=raw_body)

    with pytest.raises(NotificationRejected):
        provider.parse_notification(headers, raw_body)


def test_notification_plaintext_resource(provider, wechat, platform_key, apiv3_key):
    body = json.dumps(
        {"event_type": "TRANSACTION.SUCCESS", "resource_type": "plain", "resource": _paid_order()}
    ).encode()
    headers, _ = _notification(platform_key, apiv3_key, raw_body=body)

    with pytest.raises(NotificationRejected, match="signature verification or resource decryption"):
        provider.parse_notification(headers, body)


def test_notification_body_as_text(provider, wechat, platform_key, apiv3_key):
    headers, body = _notification(platform_key, apiv3_key)

    with pytest.raises(TypeError, match="raw request body as bytes"):
        provider.parse_notification(headers, body.decode())


def test_acknowledgement(provider):
    assert provider.acknowledgement(True) == (b"", 204, {})
    body, status, headers = provider.acknowledgement(False)
    assert status == 400
    assert json.loads(body) == {"code": "FAIL", "message": "失败"}
    assert headers == {"Content-Type": "application/json; charset=utf-8"}


def test_provider_names(provider):
    assert provider.name == "wechat"
    assert provider.label == "微信支付"


# --- Configuration ---------------------------------------------------------------------------


@pytest.fixture
def key_files(tmp_path, merchant_key, platform_key):
    private = tmp_path / "apiclient_key.pem"
    private.write_text(_private_pem(merchant_key))
    public = tmp_path / "pub_key.pem"
    public.write_text(_public_pem(platform_key))
    return private, public


def _environ(key_files, apiv3_key) -> dict[str, str]:
    private, public = key_files
    return {
        "WECHAT_MCHID": MCHID,
        "WECHAT_APPID": APPID,
        "WECHAT_PRIVATE_KEY_FILE": str(private),
        "WECHAT_CERT_SERIAL_NO": CERT_SERIAL_NO,
        "WECHAT_APIV3_KEY": apiv3_key,
        "WECHAT_PUBLIC_KEY_FILE": str(public),
        "WECHAT_PUBLIC_KEY_ID": PUBLIC_KEY_ID,
    }


def test_from_env_unset():
    assert WeChatPayConfig.from_env({}) is None
    assert WeChatPayConfig.from_env({"WECHAT_MCHID": "  ", "WECHAT_APPID": APPID}) is None


def test_from_env_complete(key_files, apiv3_key, config):
    loaded = WeChatPayConfig.from_env(_environ(key_files, apiv3_key))

    assert loaded == replace(config, timeout=10.0)
    WeChatPayProvider(loaded)


@pytest.mark.parametrize(
    "name",
    [
        "WECHAT_APPID",
        "WECHAT_PRIVATE_KEY_FILE",
        "WECHAT_CERT_SERIAL_NO",
        "WECHAT_APIV3_KEY",
        "WECHAT_PUBLIC_KEY_FILE",
        "WECHAT_PUBLIC_KEY_ID",
    ],
)
def test_from_env_partly_set(key_files, apiv3_key, name):
    environ = _environ(key_files, apiv3_key)
    del environ[name]

    with pytest.raises(ValueError, match=f"{name} is not set"):
        WeChatPayConfig.from_env(environ)


def test_from_env_missing_key_file(key_files, apiv3_key, tmp_path):
    environ = _environ(key_files, apiv3_key)
    environ["WECHAT_PUBLIC_KEY_FILE"] = str(tmp_path / "missing.pem")

    with pytest.raises(ValueError, match="WECHAT_PUBLIC_KEY_FILE: cannot read"):
        WeChatPayConfig.from_env(environ)


def test_from_env_short_apiv3_key(key_files, apiv3_key):
    environ = _environ(key_files, apiv3_key)
    environ["WECHAT_APIV3_KEY"] = apiv3_key[:31]

    with pytest.raises(ValueError, match="must be 32 bytes"):
        WeChatPayConfig.from_env(environ)


def test_invalid_private_key(config):
    with pytest.raises(ValueError, match="invalid WeChat Pay configuration"):
        WeChatPayProvider(replace(config, private_key="not a key"))


def test_config_repr_hides_secrets(config):
    assert config.apiv3_key not in repr(config)
    assert "PRIVATE KEY" not in repr(config)
