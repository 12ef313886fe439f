"""WeChat Pay API v3 Native (QR code) payments through the wechatpayv3 SDK.

The SDK runs in public-key mode: WeChat Pay signs responses and notifications with the key
that ``public_key_id`` (PUB_KEY_ID_...) names. Certificate mode cannot verify such serials.
"""

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from app.payments.providers.base import (
    NewTrade,
    Notification,
    NotificationIgnored,
    NotificationRejected,
    PaymentProvider,
    ProviderError,
    TradeResult,
    TradeState,
)
from app.payments.providers.china_time import (
    CHINA_ZONE,
    Clock,
    check_notification_time,
    from_china_naive,
    to_china_naive,
    utc_now,
)
from app.payments.providers.env import env_file_text, env_text

log = logging.getLogger(__name__)

APIV3_KEY_BYTES = 32  # AES-256-GCM key of notification resources

# WeChat Pay's rule for out_trade_no. The SDK puts it into the URL path of close and query,
# so checking it also keeps "/" and "?" out of those paths.
OUT_TRADE_NO_PATTERN = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")

# trade_state of the order query. REFUND means the order was paid and later refunded.
TRADE_STATES = {
    "SUCCESS": TradeState.PAID,
    "REFUND": TradeState.PAID,
    "NOTPAY": TradeState.PENDING,
    "USERPAYING": TradeState.PENDING,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,
    "PAYERROR": TradeState.CLOSED,
}

# Header names as WeChat Pay sends them. Lookups ignore case because frameworks differ.
SIGNATURE_HEADER = "Wechatpay-Signature"
TIMESTAMP_HEADER = "Wechatpay-Timestamp"
NONCE_HEADER = "Wechatpay-Nonce"
SERIAL_HEADER = "Wechatpay-Serial"
SIGNATURE_TYPE_HEADER = "Wechatpay-Signature-Type"
REQUIRED_NOTIFICATION_HEADERS = (SIGNATURE_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SERIAL_HEADER)

CONNECTION_FAILED = "无法连接微信支付，请稍后重试。"
CREATE_FAILED = "微信支付下单失败，请稍后重试。"
CLOSE_FAILED = "关闭微信支付订单失败，请稍后重试。"
QUERY_FAILED = "查询微信支付订单失败，请稍后重试。"


@dataclass(frozen=True)
class WeChatPayConfig:
    """Merchant settings of a directly connected (not service provider) WeChat Pay merchant."""

    mchid: str
    appid: str
    private_key: str = field(repr=False)  # merchant API private key, PEM (apiclient_key.pem)
    cert_serial_no: str  # serial number of the merchant API certificate
    apiv3_key: str = field(repr=False)
    public_key: str  # WeChat Pay public key, PEM
    public_key_id: str  # PUB_KEY_ID_..., sent by WeChat Pay as Wechatpay-Serial
    timeout: float = 10.0  # seconds per HTTP request, kept short because a user waits on it

    def __post_init__(self):
        if len(self.apiv3_key.encode("utf-8")) != APIV3_KEY_BYTES:
            raise ValueError(f"the WeChat Pay APIv3 key must be {APIV3_KEY_BYTES} bytes long")
        if not self.public_key_id:
            raise ValueError("the WeChat Pay public key id (PUB_KEY_ID_...) is empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "WeChatPayConfig | None":
        """Read the WECHAT_* variables, or return None when WECHAT_MCHID is unset.

        Raises ValueError naming the first missing variable or unreadable key file.
        """
        if not environ.get("WECHAT_MCHID", "").strip():
            return None
        enabled_by = "WECHAT_MCHID"
        return cls(
            mchid=env_text(environ, "WECHAT_MCHID", enabled_by),
            appid=env_text(environ, "WECHAT_APPID", enabled_by),
            private_key=env_file_text(environ, "WECHAT_PRIVATE_KEY_FILE", enabled_by),
            cert_serial_no=env_text(environ, "WECHAT_CERT_SERIAL_NO", enabled_by),
            apiv3_key=env_text(environ, "WECHAT_APIV3_KEY", enabled_by),
            public_key=env_file_text(environ, "WECHAT_PUBLIC_KEY_FILE", enabled_by),
            public_key_id=env_text(environ, "WECHAT_PUBLIC_KEY_ID", enabled_by),
        )


class WeChatPayProvider(PaymentProvider):
    name = "wechat"
    label = "微信支付"

    def __init__(self, config: WeChatPayConfig, clock: Clock = utc_now):
        """Build the SDK client. ``clock`` returns the aware current time, and tests inject it."""
        self.config = config
        self._clock = clock
        try:
            # No logger: the SDK logs request headers and decrypted notifications at debug level.
            self._client = WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE,
                mchid=config.mchid,
                private_key=config.private_key,
                cert_serial_no=config.cert_serial_no,
                appid=config.appid,
                apiv3_key=config.apiv3_key,
                public_key=config.public_key,
                public_key_id=config.public_key_id,
                timeout=config.timeout,
            )
        except Exception as error:  # the SDK raises bare Exception for unreadable keys
            raise ValueError(f"invalid WeChat Pay configuration: {error}") from error

    # --- Orders ------------------------------------------------------------------------------

    def create_qr(self, trade: NewTrade) -> str:
        """Place a Native order and return its code_url."""
        check_out_trade_no(trade.out_trade_no)
        if isinstance(trade.amount_fen, bool) or not isinstance(trade.amount_fen, int):
            raise TypeError(f"amount_fen must be an int, got {trade.amount_fen!r}")
        if trade.amount_fen <= 0:
            raise ValueError(f"amount_fen must be positive, got {trade.amount_fen}")
        time_expire = rfc3339_china(trade.expires_at) if trade.expires_at else None
        status, body = self._call(
            "create",
            trade.out_trade_no,
            self._client.pay,
            description=trade.subject,
            out_trade_no=trade.out_trade_no,
            amount={"total": trade.amount_fen, "currency": "CNY"},
            time_expire=time_expire,
            notify_url=trade.notify_url,
        )
        data = json_object(body)
        if status != 200:
            raise ProviderError(
                CREATE_FAILED, error_detail("create", trade.out_trade_no, status, data)
            )
        code_url = data.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderError(
                CREATE_FAILED, f"WeChat Pay create {trade.out_trade_no}: no code_url in {data!r}"
            )
        return code_url

    def close(self, out_trade_no: str) -> TradeResult:
        """Close the order, or return what a query shows when the close fails.

        The close fails with ORDERPAID for a paid order, and also on network errors.
        """
        check_out_trade_no(out_trade_no)
        try:
            status, body = self._call("close", out_trade_no, self._client.close, out_trade_no)
        except ProviderError as error:
            # A timed-out close may still have been applied, so the query decides.
            log.warning("WeChat Pay close %s failed, querying instead: %s", out_trade_no, error)
            return self._state_after_failed_close(out_trade_no, str(error))
        if status == 204:
            return TradeResult(out_trade_no, TradeState.CLOSED)
        failure = error_detail("close", out_trade_no, status, json_object(body))
        log.warning("%s, querying the order instead", failure)
        return self._state_after_failed_close(out_trade_no, failure)

    def _state_after_failed_close(self, out_trade_no: str, failure: str) -> TradeResult:
        result = self.query(out_trade_no)
        if result.state is TradeState.PENDING:
            raise ProviderError(CLOSE_FAILED, f"{failure}, and the order is still unpaid")
        return result

    def query(self, out_trade_no: str) -> TradeResult:
        """Query the order by out_trade_no. ORDERNOTEXIST counts as CLOSED."""
        check_out_trade_no(out_trade_no)
        status, body = self._call(
            "query", out_trade_no, self._client.query, out_trade_no=out_trade_no
        )
        data = json_object(body)
        if status != 200:
            # Native orders exist from the moment create_qr succeeds, so a missing order was
            # never created and can never be paid.
            if data.get("code") == "ORDERNOTEXIST":
                return TradeResult(out_trade_no, TradeState.CLOSED, raw=data)
            raise ProviderError(QUERY_FAILED, error_detail("query", out_trade_no, status, data))
        if data.get("out_trade_no") != out_trade_no:
            raise ProviderError(
                QUERY_FAILED,
                f"WeChat Pay query {out_trade_no} returned order {data.get('out_trade_no')!r}",
            )
        try:
            return trade_result(data)
        except ValueError as error:
            raise ProviderError(
                QUERY_FAILED, f"WeChat Pay query {out_trade_no}: {error}"
            ) from error

    def _call(self, operation: str, out_trade_no: str, method: Callable, /, *args, **kwargs):
        """Run one SDK request and return (HTTP status, body), or raise ProviderError."""
        try:
            return method(*args, **kwargs)
        except requests.RequestException as error:
            raise ProviderError(
                CONNECTION_FAILED, f"WeChat Pay {operation} {out_trade_no}: {error!r}"
            ) from error
        except Exception as error:
            # The SDK raises bare Exception, for example when a response signature is invalid.
            message = {"create": CREATE_FAILED, "close": CLOSE_FAILED}.get(operation, QUERY_FAILED)
            raise ProviderError(
                message, f"WeChat Pay {operation} {out_trade_no}: {error!r}"
            ) from error

    # --- Notifications -----------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify and decrypt a payment notification from the raw request ``body``.

        The timestamp and serial are checked before the SDK runs, because the SDK accepts any
        timestamp and fetches platform certificates over the network for an unknown serial.
        """
        if not isinstance(body, bytes):
            raise TypeError("pass the raw request body as bytes, not parsed or re-encoded data")
        signed_headers = notification_headers(headers)
        check_notification_time(notification_time(signed_headers[TIMESTAMP_HEADER]), self._clock())
        serial = signed_headers[SERIAL_HEADER]
        if serial != self.config.public_key_id:
            raise NotificationRejected(
                f"Wechatpay-Serial {serial!r} is not our public key id {self.config.public_key_id}"
            )
        try:
            decoded = self._client.callback(signed_headers, body)
        except Exception as error:  # bare Exception from the SDK, JSON and UTF-8 errors
            raise NotificationRejected(f"notification could not be verified: {error!r}") from error
        if not decoded:
            raise NotificationRejected("signature verification or resource decryption failed")
        return self._payment_from(decoded)

    def _payment_from(self, decoded: dict) -> Notification:
        event_type = decoded.get("event_type")
        if event_type != "TRANSACTION.SUCCESS":
            raise NotificationIgnored(f"event_type {event_type!r} is not TRANSACTION.SUCCESS")
        resource = decoded.get("resource")
        if not isinstance(resource, dict):
            raise NotificationRejected("decrypted resource is not a JSON object")
        mchid = resource.get("mchid")
        if mchid != self.config.mchid:
            raise NotificationRejected(f"mchid {mchid!r} is not ours ({self.config.mchid})")
        appid = resource.get("appid")
        if appid != self.config.appid:
            raise NotificationRejected(f"appid {appid!r} is not ours ({self.config.appid})")
        trade_state = resource.get("trade_state")
        if trade_state != "SUCCESS":
            raise NotificationIgnored(f"trade_state {trade_state!r} is not SUCCESS")
        if not isinstance(resource.get("out_trade_no"), str) or not resource["out_trade_no"]:
            raise NotificationRejected("out_trade_no is missing")
        try:
            trade = trade_result(resource)
        except ValueError as error:
            raise NotificationRejected(f"invalid notification resource: {error}") from error
        return Notification(trade=trade, merchant_id=mchid)

    def acknowledgement(self, accepted: bool) -> tuple[bytes, int, dict[str, str]]:
        """Return 204 with no body to accept. WeChat Pay retries on any status other than 2xx."""
        if accepted:
            return b"", 204, {}
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False)
        return body.encode("utf-8"), 400, {"Content-Type": "application/json; charset=utf-8"}


def check_out_trade_no(out_trade_no: str) -> None:
    if not isinstance(out_trade_no, str) or not OUT_TRADE_NO_PATTERN.fullmatch(out_trade_no):
        raise ValueError(
            f"invalid out_trade_no {out_trade_no!r}: expected 6 to 32 letters, digits or _-|*"
        )


def rfc3339_china(moment: datetime) -> str:
    """Format a naive China Standard Time (or aware) datetime as 2026-12-06T10:00:00+08:00."""
    return from_china_naive(moment).astimezone(CHINA_ZONE).replace(microsecond=0).isoformat()


def json_object(body: str | bytes) -> dict:
    """Parse a response body as a JSON object.

    An empty body gives {}. Other text gives {"unparsed_body": its first 200 characters}.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return {"unparsed_body": body[:200]}
    return data if isinstance(data, dict) else {"unparsed_body": body[:200]}


def error_detail(operation: str, out_trade_no: str, status: int, data: dict) -> str:
    """Describe a failed call for the log: HTTP status, WeChat Pay's code and message."""
    code = data.get("code", "")
    message = data.get("message") or data.get("unparsed_body", "")
    return f"WeChat Pay {operation} {out_trade_no} failed: HTTP {status} {code} {message}".rstrip()


def trade_result(data: dict) -> TradeResult:
    """Map an order (query response or notification resource) to a TradeResult.

    Raises ValueError naming the unknown state or the missing or invalid field.
    """
    trade_state = data.get("trade_state")
    state = TRADE_STATES.get(trade_state)
    if state is None:
        raise ValueError(f"unknown trade_state {trade_state!r}")
    out_trade_no = data.get("out_trade_no", "")
    if state is not TradeState.PAID:
        return TradeResult(out_trade_no, state, raw=data)
    transaction_id = data.get("transaction_id")
    if not isinstance(transaction_id, str) or not transaction_id:
        raise ValueError("transaction_id is missing")
    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise ValueError("amount is missing")
    total = amount.get("total")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"amount.total {total!r} is not a whole number of fen")
    currency = amount.get("currency", "CNY")
    if currency != "CNY":
        raise ValueError(f"amount.currency {currency!r} is not CNY")
    return TradeResult(
        out_trade_no,
        state,
        transaction_id=transaction_id,
        amount_fen=total,
        paid_at=success_time(data.get("success_time")),
        raw=data,
    )


def success_time(text: object) -> datetime | None:
    """Parse success_time (RFC 3339, e.g. 2026-12-06T10:00:00+08:00) into naive China time."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"success_time {text!r} is not text")
    try:
        return to_china_naive(datetime.fromisoformat(text))
    except ValueError as error:
        raise ValueError(f"success_time {text!r} is not an RFC 3339 time with offset") from error


def notification_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the signature headers under the names the SDK expects.

    Raises NotificationRejected when a required header is missing or empty.
    """
    by_lower_name = {name.lower(): value for name, value in headers.items()}
    picked = {}
    for name in (*REQUIRED_NOTIFICATION_HEADERS, SIGNATURE_TYPE_HEADER):
        value = by_lower_name.get(name.lower(), "").strip()
        if value:
            picked[name] = value
    missing = [name for name in REQUIRED_NOTIFICATION_HEADERS if name not in picked]
    if missing:
        raise NotificationRejected(f"missing header {', '.join(missing)}")
    return picked


def notification_time(timestamp: str) -> datetime:
    """Parse Wechatpay-Timestamp (Unix seconds) into an aware UTC datetime."""
    if not timestamp.isascii() or not timestamp.isdigit():
        raise NotificationRejected(f"Wechatpay-Timestamp {timestamp!r} is not Unix seconds")
    try:
        return datetime.fromtimestamp(int(timestamp), UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise NotificationRejected(f"Wechatpay-Timestamp {timestamp!r} is out of range") from error
