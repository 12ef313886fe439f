"""Alipay face-to-face payments (alipay.trade.precreate QR codes) through python-alipay-sdk.

The SDK returns business failures as dicts with ``code`` other than "10000", not as
exceptions, so every result is checked by its code.
"""

import binascii
import logging
import math
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl

from alipay import AliPay
from alipay.exceptions import AliPayException
from alipay.utils import AliPayConfig as AlipaySdkConfig

from app.payments.money import fen_from_yuan, yuan_text
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
    Clock,
    check_notification_time,
    from_china_naive,
    utc_now,
)
from app.payments.providers.env import env_file_text, env_flag, env_text

log = logging.getLogger(__name__)

SUCCESS_CODE = "10000"
# Alipay accepts timeout_express from 1m up to 15d.
MAX_TIMEOUT_MINUTES = 15 * 24 * 60
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
PAID_STATUSES = ("TRADE_SUCCESS", "TRADE_FINISHED")
# Alipay writes times as China Standard Time without an offset.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

CONNECTION_FAILED = "无法连接支付宝，请稍后重试。"
CREATE_FAILED = "支付宝下单失败，请稍后重试。"
CLOSE_FAILED = "关闭支付宝订单失败，请稍后重试。"
QUERY_FAILED = "查询支付宝订单失败，请稍后重试。"


@dataclass(frozen=True)
class AlipayConfig:
    """Settings of one Alipay open-platform application signing with RSA2."""

    app_id: str
    app_private_key: str = field(repr=False)  # the application's private key, PEM
    alipay_public_key: str  # Alipay's public key (not the application's), PEM
    seller_id: str  # the merchant's Alipay user id, 2088...
    sandbox: bool = False  # use Alipay's sandbox gateway
    timeout: float = 10.0  # seconds per HTTP request, kept short because a user waits on it

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "AlipayConfig | None":
        """Read the ALIPAY_* variables, or return None when ALIPAY_APP_ID is unset.

        Raises ValueError naming the first missing or invalid variable or unreadable key file.
        """
        if not environ.get("ALIPAY_APP_ID", "").strip():
            return None
        enabled_by = "ALIPAY_APP_ID"
        private_key = env_file_text(environ, "ALIPAY_APP_PRIVATE_KEY_FILE", enabled_by)
        public_key = env_file_text(environ, "ALIPAY_PUBLIC_KEY_FILE", enabled_by)
        return cls(
            app_id=env_text(environ, "ALIPAY_APP_ID", enabled_by),
            app_private_key=pem_key(private_key, "PRIVATE KEY"),
            alipay_public_key=pem_key(public_key, "PUBLIC KEY"),
            seller_id=env_text(environ, "ALIPAY_SELLER_ID", enabled_by),
            sandbox=env_flag(environ, "ALIPAY_SANDBOX"),
        )


def pem_key(text: str, label: str) -> str:
    """Wrap a bare base64 key, as Alipay's key tool writes it, in PEM armour. PEM is kept."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text
    body = "".join(text.split())
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


class AlipayProvider(PaymentProvider):
    name = "alipay"
    label = "支付宝"

    def __init__(self, config: AlipayConfig, clock: Clock = utc_now):
        """Build the SDK client. ``clock`` returns the aware current time, and tests inject it."""
        self.config = config
        self._clock = clock
        try:
            self._client = AliPay(
                appid=config.app_id,
                app_private_key_string=config.app_private_key,
                alipay_public_key_string=config.alipay_public_key,
                sign_type="RSA2",
                debug=config.sandbox,
                config=AlipaySdkConfig(timeout=config.timeout),
            )
        except (ValueError, IndexError, TypeError) as error:
            raise ValueError(f"invalid Alipay key in the configuration: {error}") from error

    # --- Trades ------------------------------------------------------------------------------

    def create_qr(self, trade: NewTrade) -> str:
        """Precreate the trade and return its qr_code URL.

        ``expires_at`` becomes ``timeout_express`` in whole minutes (1m to 15d), Alipay's
        relative limit on paying after the trade is created by the scan.
        """
        total_amount = yuan_text(trade.amount_fen)
        if trade.amount_fen <= 0:
            raise ValueError(f"amount_fen must be positive, got {trade.amount_fen}")
        extra = {}
        if trade.expires_at is not None:
            extra["timeout_express"] = self._timeout_express(trade.expires_at)
        response = self._call(
            "precreate",
            trade.out_trade_no,
            self._client.api_alipay_trade_precreate,
            subject=trade.subject,
            out_trade_no=trade.out_trade_no,
            total_amount=total_amount,
            notify_url=trade.notify_url,
            **extra,
        )
        if response.get("code") != SUCCESS_CODE:
            raise ProviderError(
                CREATE_FAILED, failure_detail("precreate", trade.out_trade_no, response)
            )
        qr_code = response.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise ProviderError(
                CREATE_FAILED, f"Alipay precreate {trade.out_trade_no}: no qr_code in {response!r}"
            )
        return qr_code

    def _timeout_express(self, expires_at: datetime) -> str:
        """Return the minutes left until ``expires_at`` as Alipay's "90m" form, within 1m-15d."""
        seconds = (from_china_naive(expires_at) - self._clock()).total_seconds()
        minutes = min(max(1, math.ceil(seconds / 60)), MAX_TIMEOUT_MINUTES)
        return f"{minutes}m"

    def close(self, out_trade_no: str) -> TradeResult:
        """Close the trade, or return what a query shows when the close fails (paid, network).

        NOTE: ACQ.TRADE_NOT_EXIST returns CLOSED, but an unscanned QR code stays scannable
        at Alipay until it expires, so a payment may still arrive for this out_trade_no.
        """
        try:
            response = self._call(
                "close",
                out_trade_no,
                self._client.api_alipay_trade_close,
                out_trade_no=out_trade_no,
            )
        except ProviderError as error:
            # A timed-out close may still have been applied, so the query decides.
            log.warning("Alipay close %s failed, querying instead: %s", out_trade_no, error)
            return self._state_after_failed_close(out_trade_no, str(error))
        if response.get("code") == SUCCESS_CODE or response.get("sub_code") == TRADE_NOT_EXIST:
            return TradeResult(out_trade_no, TradeState.CLOSED, raw=response)
        # Alipay returns ACQ.TRADE_STATUS_ERROR for a paid trade. The query gets its payment.
        failure = failure_detail("close", out_trade_no, response)
        log.warning("%s, querying the trade instead", failure)
        return self._state_after_failed_close(out_trade_no, failure)

    def _state_after_failed_close(self, out_trade_no: str, failure: str) -> TradeResult:
        response = self._query_response(out_trade_no)
        if response.get("sub_code") == TRADE_NOT_EXIST:
            return TradeResult(out_trade_no, TradeState.CLOSED, raw=response)
        result = self._trade_result(out_trade_no, response)
        if result.state is TradeState.PENDING:
            raise ProviderError(CLOSE_FAILED, f"{failure}, and the trade is still unpaid")
        return result

    def query(self, out_trade_no: str) -> TradeResult:
        """Query the trade by out_trade_no.

        ACQ.TRADE_NOT_EXIST returns PENDING, because a precreated trade exists at Alipay only
        once the buyer scans the QR code, and until then the code can still be paid.
        """
        response = self._query_response(out_trade_no)
        if response.get("sub_code") == TRADE_NOT_EXIST:
            return TradeResult(out_trade_no, TradeState.PENDING, raw=response)
        return self._trade_result(out_trade_no, response)

    def _query_response(self, out_trade_no: str) -> dict:
        return self._call(
            "query", out_trade_no, self._client.api_alipay_trade_query, out_trade_no=out_trade_no
        )

    def _trade_result(self, out_trade_no: str, response: dict) -> TradeResult:
        """Map a query response other than ACQ.TRADE_NOT_EXIST, or raise ProviderError."""
        if response.get("code") != SUCCESS_CODE:
            raise ProviderError(QUERY_FAILED, failure_detail("query", out_trade_no, response))
        if response.get("out_trade_no") != out_trade_no:
            raise ProviderError(
                QUERY_FAILED,
                f"Alipay query {out_trade_no} returned trade {response.get('out_trade_no')!r}",
            )
        trade_status = response.get("trade_status")
        if trade_status == "WAIT_BUYER_PAY":
            return TradeResult(out_trade_no, TradeState.PENDING, raw=response)
        # NOTE: a fully refunded trade is TRADE_CLOSED too, so this also returns CLOSED for it.
        if trade_status == "TRADE_CLOSED":
            return TradeResult(out_trade_no, TradeState.CLOSED, raw=response)
        if trade_status not in PAID_STATUSES:
            raise ProviderError(
                QUERY_FAILED, f"Alipay query {out_trade_no}: unknown trade_status {trade_status!r}"
            )
        try:
            return paid_trade(response, paid_at_field="send_pay_date")
        except ValueError as error:
            raise ProviderError(QUERY_FAILED, f"Alipay query {out_trade_no}: {error}") from error

    def _call(self, operation: str, out_trade_no: str, method: Callable, /, **kwargs) -> dict:
        """Run one SDK request and return the response dict, or raise ProviderError."""
        failed = {"precreate": CREATE_FAILED, "close": CLOSE_FAILED}.get(operation, QUERY_FAILED)
        try:
            response = method(**kwargs)
        except OSError as error:  # URLError, timeouts and refused or reset connections
            raise ProviderError(
                CONNECTION_FAILED, f"Alipay {operation} {out_trade_no}: {error!r}"
            ) from error
        except Exception as error:
            # The SDK raises AliPayException for unsigned or error_response responses,
            # AliPayValidationError for a bad response signature and JSON errors for junk.
            raise ProviderError(failed, f"Alipay {operation} {out_trade_no}: {error!r}") from error
        if not isinstance(response, dict):
            raise ProviderError(failed, f"Alipay {operation} {out_trade_no}: response {response!r}")
        return response

    # --- Notifications -----------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify an asynchronous notification (a UTF-8 form POST) of a paid trade."""
        fields = form_fields(body)
        self._verify_signature(fields)
        app_id = fields.get("app_id")
        if app_id != self.config.app_id:
            raise NotificationRejected(f"app_id {app_id!r} is not ours ({self.config.app_id})")
        seller_id = fields.get("seller_id")
        if seller_id != self.config.seller_id:
            raise NotificationRejected(
                f"seller_id {seller_id!r} is not ours ({self.config.seller_id})"
            )
        check_notification_time(notify_time(fields.get("notify_time")), self._clock())
        trade_status = fields.get("trade_status")
        if trade_status not in PAID_STATUSES:
            raise NotificationIgnored(f"not a payment: trade_status {trade_status!r}")
        try:
            trade = paid_trade(fields, paid_at_field="gmt_payment")
        except ValueError as error:
            raise NotificationRejected(f"invalid notification field: {error}") from error
        return Notification(trade=trade, merchant_id=seller_id)

    def _verify_signature(self, fields: dict[str, str]) -> None:
        """Check the RSA2 signature over the fields other than sign and sign_type."""
        signature = fields.pop("sign", "")
        sign_type = fields.pop("sign_type", "RSA2")
        if not signature:
            raise NotificationRejected("sign is missing")
        if sign_type != "RSA2":
            raise NotificationRejected(f"sign_type {sign_type!r} is not RSA2")
        try:
            # The SDK's verify pops keys from the dict it gets, so it gets a copy.
            valid = self._client.verify(dict(fields), signature)
        except (AliPayException, ValueError, TypeError, binascii.Error) as error:
            raise NotificationRejected(f"signature could not be checked: {error!r}") from error
        if not valid:
            raise NotificationRejected("signature is invalid")

    def acknowledgement(self, accepted: bool) -> tuple[bytes, int, dict[str, str]]:
        """Return "success" to accept. Alipay retries on any other body, so "fail" rejects."""
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        return (b"success" if accepted else b"fail"), 200, headers


def form_fields(body: bytes) -> dict[str, str]:
    """Parse a UTF-8 application/x-www-form-urlencoded body, rejecting repeated or junk fields."""
    if not isinstance(body, bytes):
        raise TypeError("pass the raw request body as bytes")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict"
        )
    except ValueError as error:  # UnicodeDecodeError is a ValueError too
        raise NotificationRejected(f"malformed form body: {error}") from error
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise NotificationRejected(f"form field {name!r} appears more than once")
        fields[name] = value
    return fields


def failure_detail(operation: str, out_trade_no: str, response: dict) -> str:
    """Describe a failed call for the log: Alipay's code, sub_code and messages."""
    parts = [
        response.get("code", "no code"),
        response.get("msg", ""),
        response.get("sub_code", ""),
        response.get("sub_msg", ""),
    ]
    described = " ".join(str(part) for part in parts if part)
    return f"Alipay {operation} {out_trade_no} failed: {described}"


def notify_time(text: str | None) -> datetime:
    """Parse notify_time (China Standard Time, 2026-12-06 10:00:00) into an aware datetime."""
    if not text:
        raise NotificationRejected("notify_time is missing")
    try:
        return from_china_naive(datetime.strptime(text, TIME_FORMAT))
    except ValueError as error:
        raise NotificationRejected(f"notify_time {text!r} is not {TIME_FORMAT}") from error


def paid_trade(data: Mapping[str, str], paid_at_field: str) -> TradeResult:
    """Build the PAID TradeResult of a query response or notification.

    Raises ValueError naming a missing or invalid field.
    """
    out_trade_no = data.get("out_trade_no")
    if not out_trade_no:
        raise ValueError("out_trade_no is missing")
    trade_no = data.get("trade_no")
    if not trade_no:
        raise ValueError("trade_no is missing")
    amount_fen = fen_from_yuan(data.get("total_amount"))
    paid_at = None
    if data.get(paid_at_field):
        try:
            paid_at = datetime.strptime(data[paid_at_field], TIME_FORMAT)
        except ValueError as error:
            raise ValueError(
                f"{paid_at_field} {data[paid_at_field]!r} is not {TIME_FORMAT}"
            ) from error
    return TradeResult(
        out_trade_no,
        TradeState.PAID,
        transaction_id=trade_no,
        amount_fen=amount_fen,
        paid_at=paid_at,
        raw=dict(data),
    )
