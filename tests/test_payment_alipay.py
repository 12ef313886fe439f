"""The Alipay precreate adapter against a fake Alipay gateway, with keys made per session.

The fake replaces ``urlopen`` inside the alipay package, checks the request's RSA2 signature
with the application's public key and signs its responses with the generated Alipay key, so
the SDK's own signing and response verification run too.
"""

import base64
import io
import json
import socket
import urllib.error
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.payments.providers.alipay import AlipayConfig, AlipayProvider
from app.payments.providers.base import (
    NewTrade,
    Notification,
    NotificationRejected,
    ProviderError,
    TradeResult,
    TradeState,
)

APP_ID = "2021000117600000"
SELLER_ID = "2088102177840000"
GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
OUT_TRADE_NO = "36EL20231017174447022994653101"
TRADE_NO = "2026120622001400000501234567"
NOTIFY_URL = "https://pay.example.cn/payments/notify/alipay"
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


def _bare_base64(pem: str) -> str:
    """The key without PEM armour, on one line, as Alipay's key tool writes it."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def _sign(key, message: str) -> str:
    signature = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _signed_text(fields: dict[str, str]) -> str:
    return "&".join(f"{name}={value}" for name, value in sorted(fields.items()))


@pytest.fixture(scope="session")
def app_key():
    return _private_key()


@pytest.fixture(scope="session")
def alipay_key():
    """The key Alipay signs with. Its public half is configured as the Alipay public key."""
    return _private_key()


@pytest.fixture(scope="session")
def stranger_key():
    return _private_key()


@pytest.fixture(scope="session")
def config(app_key, alipay_key) -> AlipayConfig:
    return AlipayConfig(
        app_id=APP_ID,
        app_private_key=_private_pem(app_key),
        alipay_public_key=_public_pem(alipay_key),
        seller_id=SELLER_ID,
        timeout=7.5,
    )


@pytest.fixture
def provider(config) -> AlipayProvider:
    return AlipayProvider(config, clock=lambda: NOW)


# --- Fake Alipay gateway ---------------------------------------------------------------------


@dataclass
class GatewayRequest:
    url: str
    params: dict[str, str]
    biz_content: dict
    timeout: float


@dataclass
class FakeAlipayGateway:
    """Stands in for ``urlopen`` as the alipay package calls it."""

    app_key: object
    alipay_key: object
    requests: list[GatewayRequest] = field(default_factory=list)
    replies: list = field(default_factory=list)

    def reply(self, body: dict, signed_by=None, unsigned=False):
        """Queue a response body, wrapped under the response key of the method requested."""
        self.replies.append((body, signed_by or self.alipay_key, unsigned))

    def fail(self, error: Exception):
        self.replies.append(error)

    def __call__(self, url: str, timeout: float):
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self._check_request_signature(params)
        request = GatewayRequest(
            f"{parts.scheme}://{parts.netloc}{parts.path}",
            params,
            json.loads(params["biz_content"]),
            timeout,
        )
        self.requests.append(request)
        assert self.replies, f"unexpected request {params['method']}"
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        body, key, unsigned = reply
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        response_name = params["method"].replace(".", "_") + "_response"
        if unsigned:
            raw = f'{{"{response_name}":{inner}}}'
        else:
            raw = f'{{"{response_name}":{inner},"sign":"{_sign(key, inner)}"}}'
        return io.BytesIO(raw.encode("utf-8"))

    def _check_request_signature(self, params: dict[str, str]):
        unsigned = {name: value for name, value in params.items() if name != "sign"}
        try:
            self.app_key.public_key().verify(
                base64.b64decode(params["sign"]),
                _signed_text(unsigned).encode("utf-8"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise AssertionError("request is not signed with the application key") from None


@pytest.fixture
def gateway(monkeypatch, app_key, alipay_key) -> FakeAlipayGateway:
    fake = FakeAlipayGateway(app_key, alipay_key)
    monkeypatch.setattr("alipay.urlopen", fake)
    return fake


def _paid_query(**changes) -> dict:
    body = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": OUT_TRADE_NO,
        "trade_no": TRADE_NO,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "150.00",
        "buyer_pay_amount": "150.00",
        "send_pay_date": "2026-12-06 09:58:30",
        "buyer_logon_id": "159****5620",
    }
    body.update(changes)
    return body


def _failure(sub_code: str, sub_msg: str = "") -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


# --- create_qr -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_fen", "total_amount"),
    [(1, "0.01"), (10, "0.10"), (15000, "150.00"), (123450, "1234.50")],
)
def test_create_qr_request_payload(provider, gateway, amount_fen, total_amount):
    gateway.reply({"code": "10000", "msg": "Success", "qr_code": "https://qr.alipay.com/bax03431"})
    trade = NewTrade(OUT_TRADE_NO, amount_fen, "20231017174447线上培训费订单", NOTIFY_URL)

    qr_code = provider.create_qr(trade)

    assert qr_code == "https://qr.alipay.com/bax03431"
    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request.url == GATEWAY
    assert request.timeout == 7.5
    assert request.params["method"] == "alipay.trade.precreate"
    assert request.params["app_id"] == APP_ID
    assert request.params["sign_type"] == "RSA2"
    assert request.params["charset"] == "utf-8"
    assert request.params["notify_url"] == NOTIFY_URL
    assert request.biz_content == {
        "out_trade_no": OUT_TRADE_NO,
        "total_amount": total_amount,
        "subject": "20231017174447线上培训费订单",
    }


def test_create_qr_sandbox_gateway(config, gateway):
    gateway.reply({"code": "10000", "msg": "Success", "qr_code": "https://qr.alipay.com/bax1"})
    provider = AlipayProvider(replace(config, sandbox=True))

    provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))

    assert gateway.requests[0].url == SANDBOX_GATEWAY


def test_create_qr_business_failure(provider, gateway):
    gateway.reply(_failure("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额"))

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))

    assert raised.value.message == "支付宝下单失败，请稍后重试。"
    assert "ACQ.TOTAL_FEE_EXCEED" in str(raised.value)


def test_create_qr_missing_qr_code(provider, gateway):
    gateway.reply({"code": "10000", "msg": "Success"})

    with pytest.raises(ProviderError, match="no qr_code"):
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
        TimeoutError("The read operation timed out"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
def test_create_qr_connection_error(provider, gateway, error):
    gateway.fail(error)

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))

    assert raised.value.message == "无法连接支付宝，请稍后重试。"


def test_create_qr_forged_response(provider, gateway, stranger_key):
    gateway.reply(
        {"code": "10000", "msg": "Success", "qr_code": "https://evil.example/qr"},
        signed_by=stranger_key,
    )

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))

    assert raised.value.message == "支付宝下单失败，请稍后重试。"
    assert "AliPayValidationError" in str(raised.value)


def test_create_qr_unsigned_error_response(provider, gateway):
    gateway.reply({"code": "40002", "msg": "Invalid Arguments"}, unsigned=True)

    with pytest.raises(ProviderError) as raised:
        provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))

    assert raised.value.message == "支付宝下单失败，请稍后重试。"
    assert "40002" in str(raised.value)


@pytest.mark.parametrize("amount", [0, -100])
def test_create_qr_invalid_amount(provider, gateway, amount):
    with pytest.raises(ValueError):
        provider.create_qr(NewTrade(OUT_TRADE_NO, amount, "订单", NOTIFY_URL))
    assert gateway.requests == []


# --- close -----------------------------------------------------------------------------------


def test_close_success(provider, gateway):
    gateway.reply({"code": "10000", "msg": "Success", "out_trade_no": OUT_TRADE_NO})

    result = provider.close(OUT_TRADE_NO)

    assert result.state is TradeState.CLOSED
    assert gateway.requests[0].params["method"] == "alipay.trade.close"
    assert gateway.requests[0].biz_content == {"out_trade_no": OUT_TRADE_NO}


def test_close_trade_not_exist(provider, gateway):
    """An unscanned precreate does not exist at Alipay yet."""
    gateway.reply(_failure("ACQ.TRADE_NOT_EXIST", "交易不存在"))

    result = provider.close(OUT_TRADE_NO)

    assert result.state is TradeState.CLOSED
    assert len(gateway.requests) == 1


@pytest.mark.parametrize("trade_status", ["TRADE_SUCCESS", "TRADE_FINISHED"])
def test_close_paid_trade_queries(provider, gateway, trade_status):
    gateway.reply(_failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"))
    gateway.reply(_paid_query(trade_status=trade_status))

    result = provider.close(OUT_TRADE_NO)

    assert result == TradeResult(
        OUT_TRADE_NO,
        TradeState.PAID,
        transaction_id=TRADE_NO,
        amount_fen=15000,
        paid_at=datetime(2026, 12, 6, 9, 58, 30),
        raw=_paid_query(trade_status=trade_status),
    )
    assert [request.params["method"] for request in gateway.requests] == [
        "alipay.trade.close",
        "alipay.trade.query",
    ]


def test_close_failure_still_unpaid(provider, gateway):
    gateway.reply(_failure("ACQ.SYSTEM_ERROR", "系统错误"))
    gateway.reply(_paid_query(trade_status="WAIT_BUYER_PAY"))

    with pytest.raises(ProviderError) as raised:
        provider.close(OUT_TRADE_NO)

    assert raised.value.message == "关闭支付宝订单失败，请稍后重试。"
    assert "ACQ.SYSTEM_ERROR" in str(raised.value)


def test_close_timeout_then_closed(provider, gateway):
    gateway.fail(TimeoutError("The read operation timed out"))
    gateway.reply(_paid_query(trade_status="TRADE_CLOSED"))

    assert provider.close(OUT_TRADE_NO).state is TradeState.CLOSED


def test_close_timeout_then_not_exist(provider, gateway):
    gateway.fail(TimeoutError("The read operation timed out"))
    gateway.reply(_failure("ACQ.TRADE_NOT_EXIST", "交易不存在"))

    assert provider.close(OUT_TRADE_NO).state is TradeState.CLOSED


def test_close_unreachable(provider, gateway):
    gateway.fail(urllib.error.URLError("Name or service not known"))
    gateway.fail(urllib.error.URLError("Name or service not known"))

    with pytest.raises(ProviderError) as raised:
        provider.close(OUT_TRADE_NO)

    assert raised.value.message == "无法连接支付宝，请稍后重试。"


# --- query -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total_amount", "amount_fen"), [("0.01", 1), ("150.00", 15000), ("1234.5", 123450)]
)
@pytest.mark.parametrize("trade_status", ["TRADE_SUCCESS", "TRADE_FINISHED"])
def test_query_paid(provider, gateway, trade_status, total_amount, amount_fen):
    body = _paid_query(trade_status=trade_status, total_amount=total_amount)
    gateway.reply(body)

    result = provider.query(OUT_TRADE_NO)

    assert result == TradeResult(
        OUT_TRADE_NO,
        TradeState.PAID,
        transaction_id=TRADE_NO,
        amount_fen=amount_fen,
        paid_at=datetime(2026, 12, 6, 9, 58, 30),
        raw=body,
    )
    assert gateway.requests[0].params["method"] == "alipay.trade.query"
    assert gateway.requests[0].biz_content == {"out_trade_no": OUT_TRADE_NO}


@pytest.mark.parametrize(
    ("trade_status", "state"),
    [("WAIT_BUYER_PAY", TradeState.PENDING), ("TRADE_CLOSED", TradeState.CLOSED)],
)
def test_query_unpaid(provider, gateway, trade_status, state):
    body = {"code": "10000", "msg": "Success", "out_trade_no": OUT_TRADE_NO}
    body["trade_status"] = trade_status
    gateway.reply(body)

    assert provider.query(OUT_TRADE_NO) == TradeResult(OUT_TRADE_NO, state, raw=body)


def test_query_trade_not_exist_is_pending(provider, gateway):
    """Until the buyer scans, the precreated QR code can still be paid."""
    gateway.reply(_failure("ACQ.TRADE_NOT_EXIST", "交易不存在"))

    result = provider.query(OUT_TRADE_NO)

    assert result.state is TradeState.PENDING
    assert result.raw["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_query_business_failure(provider, gateway):
    gateway.reply(_failure("ACQ.SYSTEM_ERROR", "系统错误"))

    with pytest.raises(ProviderError) as raised:
        provider.query(OUT_TRADE_NO)

    assert raised.value.message == "查询支付宝订单失败，请稍后重试。"
    assert "ACQ.SYSTEM_ERROR" in str(raised.value)


def test_query_connection_error(provider, gateway):
    gateway.fail(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))

    with pytest.raises(ProviderError) as raised:
        provider.query(OUT_TRADE_NO)

    assert raised.value.message == "无法连接支付宝，请稍后重试。"


def test_query_unknown_status(provider, gateway):
    gateway.reply(_paid_query(trade_status="TRADE_PENDING"))

    with pytest.raises(ProviderError, match="unknown trade_status 'TRADE_PENDING'"):
        provider.query(OUT_TRADE_NO)


def test_query_other_trade(provider, gateway):
    gateway.reply(_paid_query(out_trade_no="36EL20231017174447022994653102"))

    with pytest.raises(ProviderError, match="returned trade"):
        provider.query(OUT_TRADE_NO)


@pytest.mark.parametrize("total_amount", ["150.001", "-150.00", "1.5e2", ""])
def test_query_invalid_amount(provider, gateway, total_amount):
    gateway.reply(_paid_query(total_amount=total_amount))

    with pytest.raises(ProviderError, match="invalid yuan amount"):
        provider.query(OUT_TRADE_NO)


def test_query_paid_without_pay_date(provider, gateway):
    body = _paid_query()
    del body["send_pay_date"]
    gateway.reply(body)

    result = provider.query(OUT_TRADE_NO)

    assert result.state is TradeState.PAID
    assert result.paid_at is None


# --- Notifications ---------------------------------------------------------------------------


def _notification_fields(**changes) -> dict[str, str]:
    fields = {
        "gmt_create": "2026-12-06 09:58:20",
        "charset": "utf-8",
        "seller_email": "shop@example.cn",
        "subject": "20231017174447线上培训费订单",
        "buyer_id": "2088102177846875",
        "invoice_amount": "150.00",
        "notify_id": "2026120600222095830046871000000000",
        "fund_bill_list": '[{"amount":"150.00","fundChannel":"ALIPAYACCOUNT"}]',
        "notify_type": "trade_status_sync",
        "trade_status": "TRADE_SUCCESS",
        "receipt_amount": "150.00",
        "app_id": APP_ID,
        "buyer_pay_amount": "150.00",
        "seller_id": SELLER_ID,
        "gmt_payment": "2026-12-06 09:58:30",
        "notify_time": "2026-12-06 09:58:31",
        "version": "1.0",
        "out_trade_no": OUT_TRADE_NO,
        "total_amount": "150.00",
        "trade_no": TRADE_NO,
        "auth_app_id": APP_ID,
        "buyer_logon_id": "159****5620",
        "point_amount": "0.00",
    }
    fields.update(changes)
    return fields


def _notification(key, fields: dict[str, str]) -> bytes:
    """Sign the fields as Alipay does and encode them as a form POST body."""
    signed = {**fields, "sign": _sign(key, _signed_text(fields)), "sign_type": "RSA2"}
    return urlencode(signed).encode("utf-8")


def test_notification_valid(provider, alipay_key):
    fields = _notification_fields()

    notification = provider.parse_notification({}, _notification(alipay_key, fields))

    assert notification == Notification(
        trade=TradeResult(
            OUT_TRADE_NO,
            TradeState.PAID,
            transaction_id=TRADE_NO,
            amount_fen=15000,
            paid_at=datetime(2026, 12, 6, 9, 58, 30),
            raw=fields,
        ),
        merchant_id=SELLER_ID,
    )


def test_notification_trade_finished(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields(trade_status="TRADE_FINISHED"))

    assert provider.parse_notification({}, body).trade.state is TradeState.PAID


@pytest.mark.parametrize(
    ("total_amount", "amount_fen"),
    [("0.01", 1), ("150.00", 15000), ("1234.5", 123450), ("99999999.99", 9999999999)],
)
def test_notification_amounts(provider, alipay_key, total_amount, amount_fen):
    body = _notification(alipay_key, _notification_fields(total_amount=total_amount))

    assert provider.parse_notification({}, body).trade.amount_fen == amount_fen


@pytest.mark.parametrize("total_amount", ["1.005", "-1.00", "1e2", "NaN", " 1.00", "一元"])
def test_notification_invalid_amount(provider, alipay_key, total_amount):
    body = _notification(alipay_key, _notification_fields(total_amount=total_amount))

    with pytest.raises(NotificationRejected, match="invalid yuan amount"):
        provider.parse_notification({}, body)


def test_notification_tampered_amount(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields())
    tampered = body.replace(b"total_amount=150.00", b"total_amount=1.50")
    assert tampered != body

    with pytest.raises(NotificationRejected, match="signature is invalid"):
        provider.parse_notification({}, tampered)


def test_notification_wrong_signing_key(provider, stranger_key):
    body = _notification(stranger_key, _notification_fields())

    with pytest.raises(NotificationRejected, match="signature is invalid"):
        provider.parse_notification({}, body)


def test_notification_signed_by_app_key(provider, app_key):
    """The application's own key must not pass: notifications come from Alipay's key."""
    body = _notification(app_key, _notification_fields())

    with pytest.raises(NotificationRejected, match="signature is invalid"):
        provider.parse_notification({}, body)


def test_notification_missing_sign(provider):
    body = urlencode({**_notification_fields(), "sign_type": "RSA2"}).encode()

    with pytest.raises(NotificationRejected, match="sign is missing"):
        provider.parse_notification({}, body)


def test_notification_rsa1_sign_type(provider, alipay_key):
    fields = _notification_fields()
    body = urlencode(
        {**fields, "sign": _sign(alipay_key, _signed_text(fields)), "sign_type": "RSA"}
    ).encode()

    with pytest.raises(NotificationRejected, match="sign_type 'RSA' is not RSA2"):
        provider.parse_notification({}, body)


def test_notification_sign_not_base64(provider):
    body = urlencode({**_notification_fields(), "sign": "%%%", "sign_type": "RSA2"}).encode()

    with pytest.raises(NotificationRejected, match="signature"):
        provider.parse_notification({}, body)


@pytest.mark.parametrize(
    ("notify_time", "reason"),
    [
        ("2026-12-06 09:54:00", "old, over the 5 minute limit"),
        ("2026-12-06 10:06:00", "in the future, over the 5 minute limit"),
        ("2026-12-05 10:00:00", "old, over the 5 minute limit"),
    ],
)
def test_notification_time_outside_window(provider, alipay_key, notify_time, reason):
    body = _notification(alipay_key, _notification_fields(notify_time=notify_time))

    with pytest.raises(NotificationRejected, match=reason):
        provider.parse_notification({}, body)


@pytest.mark.parametrize("notify_time", ["2026-12-06 09:55:01", "2026-12-06 10:04:59"])
def test_notification_time_inside_window(provider, alipay_key, notify_time):
    body = _notification(alipay_key, _notification_fields(notify_time=notify_time))

    assert provider.parse_notification({}, body).trade.state is TradeState.PAID


@pytest.mark.parametrize("notify_time", ["", "2026-12-06T09:58:31+08:00", "yesterday"])
def test_notification_invalid_time(provider, alipay_key, notify_time):
    body = _notification(alipay_key, _notification_fields(notify_time=notify_time))

    with pytest.raises(NotificationRejected, match="notify_time"):
        provider.parse_notification({}, body)


def test_notification_foreign_app_id(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields(app_id="2021000117600001"))

    with pytest.raises(NotificationRejected, match="app_id '2021000117600001' is not ours"):
        provider.parse_notification({}, body)


def test_notification_foreign_seller_id(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields(seller_id="2088102177849999"))

    with pytest.raises(NotificationRejected, match="seller_id '2088102177849999' is not ours"):
        provider.parse_notification({}, body)


@pytest.mark.parametrize("trade_status", ["WAIT_BUYER_PAY", "TRADE_CLOSED", ""])
def test_notification_not_a_payment(provider, alipay_key, trade_status):
    body = _notification(alipay_key, _notification_fields(trade_status=trade_status))

    with pytest.raises(NotificationRejected, match="not a payment"):
        provider.parse_notification({}, body)


@pytest.mark.parametrize("name", ["out_trade_no", "trade_no"])
def test_notification_missing_trade_field(provider, alipay_key, name):
    fields = _notification_fields()
    del fields[name]

    with pytest.raises(NotificationRejected, match=f"{name} is missing"):
        provider.parse_notification({}, _notification(alipay_key, fields))


def test_notification_invalid_payment_time(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields(gmt_payment="06/12/2026"))

    with pytest.raises(NotificationRejected, match="gmt_payment"):
        provider.parse_notification({}, body)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfeapp_id=1",
        b"app_id=1&&sign=x",
        b"no-equals-sign",
        b"total_amount=%FF",
        b"",
        b'{"app_id": "2021000117600000"}',
    ],
)
def test_notification_malformed_form(provider, body):
    with pytest.raises(NotificationRejected):
        provider.parse_notification({}, body)


def test_notification_repeated_field(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields()) + b"&total_amount=0.01"

    with pytest.raises(NotificationRejected, match="'total_amount' appears more than once"):
        provider.parse_notification({}, body)


def test_notification_body_as_text(provider, alipay_key):
    body = _notification(alipay_key, _notification_fields())

    with pytest.raises(TypeError, match="raw request body as bytes"):
        provider.parse_notification({}, body.decode())


def test_acknowledgement(provider):
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    assert provider.acknowledgement(True) == (b"success", 200, plain)
    assert provider.acknowledgement(False) == (b"fail", 200, plain)


def test_provider_names(provider):
    assert provider.name == "alipay"
    assert provider.label == "支付宝"


# --- Configuration ---------------------------------------------------------------------------


def _environ(tmp_path, app_key, alipay_key, bare=False) -> dict[str, str]:
    private_pem, public_pem = _private_pem(app_key), _public_pem(alipay_key)
    if bare:
        private_pem, public_pem = _bare_base64(private_pem), _bare_base64(public_pem)
    private = tmp_path / "app_private_key.pem"
    private.write_text(private_pem)
    public = tmp_path / "alipay_public_key.pem"
    public.write_text(public_pem)
    return {
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_APP_PRIVATE_KEY_FILE": str(private),
        "ALIPAY_PUBLIC_KEY_FILE": str(public),
        "ALIPAY_SELLER_ID": SELLER_ID,
    }


def test_from_env_unset():
    assert AlipayConfig.from_env({}) is None
    assert AlipayConfig.from_env({"ALIPAY_APP_ID": "", "ALIPAY_SELLER_ID": SELLER_ID}) is None


def test_from_env_complete(tmp_path, app_key, alipay_key):
    config = AlipayConfig.from_env(_environ(tmp_path, app_key, alipay_key))

    assert config.app_id == APP_ID
    assert config.seller_id == SELLER_ID
    assert config.app_private_key == _private_pem(app_key).strip()
    assert config.alipay_public_key == _public_pem(alipay_key).strip()
    assert config.sandbox is False
    assert config.timeout == 10.0


@pytest.mark.parametrize(("value", "sandbox"), [("1", True), ("true", True), ("0", False)])
def test_from_env_sandbox(tmp_path, app_key, alipay_key, value, sandbox):
    environ = _environ(tmp_path, app_key, alipay_key) | {"ALIPAY_SANDBOX": value}

    assert AlipayConfig.from_env(environ).sandbox is sandbox


def test_from_env_invalid_sandbox(tmp_path, app_key, alipay_key):
    environ = _environ(tmp_path, app_key, alipay_key) | {"ALIPAY_SANDBOX": "maybe"}

    with pytest.raises(ValueError, match="invalid ALIPAY_SANDBOX 'maybe'"):
        AlipayConfig.from_env(environ)


@pytest.mark.parametrize(
    "name", ["ALIPAY_APP_PRIVATE_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE", "ALIPAY_SELLER_ID"]
)
def test_from_env_partly_set(tmp_path, app_key, alipay_key, name):
    environ = _environ(tmp_path, app_key, alipay_key)
    del environ[name]

    with pytest.raises(ValueError, match=f"{name} is not set"):
        AlipayConfig.from_env(environ)


def test_from_env_missing_key_file(tmp_path, app_key, alipay_key):
    environ = _environ(tmp_path, app_key, alipay_key)
    environ["ALIPAY_PUBLIC_KEY_FILE"] = str(tmp_path / "missing.pem")

    with pytest.raises(ValueError, match="ALIPAY_PUBLIC_KEY_FILE: cannot read"):
        AlipayConfig.from_env(environ)


def test_from_env_bare_base64_keys(tmp_path, app_key, alipay_key, gateway):
    """Keys pasted without PEM armour still sign requests and verify notifications."""
    config = AlipayConfig.from_env(_environ(tmp_path, app_key, alipay_key, bare=True))
    provider = AlipayProvider(config, clock=lambda: NOW)
    gateway.reply({"code": "10000", "msg": "Success", "qr_code": "https://qr.alipay.com/bax1"})

    assert provider.create_qr(NewTrade(OUT_TRADE_NO, 100, "订单", NOTIFY_URL))
    body = _notification(alipay_key, _notification_fields())
    assert provider.parse_notification({}, body).trade.transaction_id == TRADE_NO


def test_invalid_key(config):
    with pytest.raises(ValueError, match="invalid Alipay key"):
        AlipayProvider(replace(config, alipay_public_key="not a key"))


def test_config_repr_hides_private_key(config):
    assert "PRIVATE KEY" not in repr(config)


def test_notification_time_uses_injected_clock(config, alipay_key):
    later = AlipayProvider(config, clock=lambda: NOW + timedelta(hours=1))
    body = _notification(alipay_key, _notification_fields())

    with pytest.raises(NotificationRejected, match="old"):
        later.parse_notification({}, body)


@pytest.mark.parametrize(
    ("expires_at", "timeout_express"),
    [
        (datetime(2026, 12, 8, 10, 0, 0), "2880m"),  # 48 hours after NOW (10:00 CST)
        (datetime(2026, 12, 6, 10, 0, 30), "1m"),  # 30 seconds left rounds up to a minute
        (datetime(2026, 12, 6, 9, 0, 0), "1m"),  # already past: the shortest limit
        (datetime(2027, 3, 1, 10, 0, 0), "21600m"),  # beyond 15 days: Alipay's longest
    ],
)
def test_create_qr_sends_the_hold_as_timeout_express(
    provider, gateway, expires_at, timeout_express
):
    gateway.reply({"code": "10000", "msg": "Success", "qr_code": "https://qr.alipay.com/bax1"})
    trade = NewTrade(OUT_TRADE_NO, 15000, "订单", NOTIFY_URL, expires_at=expires_at)

    provider.create_qr(trade)

    assert gateway.requests[0].biz_content["timeout_express"] == timeout_express
