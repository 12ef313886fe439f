"""The interface every payment provider implements, and the values it exchanges.

A payment attempt is one QR code: one merchant order number (out_trade_no) at one provider.
Amounts cross this interface as integer fen; each adapter converts to its provider's unit.
Adapters never touch the database: the payment service records what they return.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ProviderError(Exception):
    """The provider could not be reached or refused the call; nothing is known to have changed.

    ``message`` is Chinese and shown to the user; the exception text is for the log.
    """

    def __init__(self, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.message = message


class NotificationRejected(Exception):
    """A notification that must change nothing: bad signature, stale, foreign or malformed."""


class NotificationIgnored(NotificationRejected):
    """An authentic notification that reports no payment (a refund, a closed trade).

    It changes nothing, but is acknowledged, so the provider stops sending it again.
    """


class TradeState(StrEnum):
    PENDING = "pending"  # created, not paid (also: the buyer has not scanned yet)
    PAID = "paid"
    CLOSED = "closed"  # closed or never created at the provider; it can no longer be paid


@dataclass(frozen=True)
class NewTrade:
    """Data an adapter needs to open a QR-code payment."""

    out_trade_no: str
    amount_fen: int
    subject: str  # the order name, e.g. 20231017174447线上培训费订单
    notify_url: str
    expires_at: datetime | None = None  # naive China Standard Time, as the app clock gives


@dataclass(frozen=True)
class TradeResult:
    """The provider's view of one trade, from a query, a close or a notification."""

    out_trade_no: str
    state: TradeState
    transaction_id: str = ""  # the provider's own id of the payment, once paid
    amount_fen: int | None = None  # amount the provider reports as paid
    paid_at: datetime | None = None  # naive China Standard Time
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A verified payment notification, ready for the payment service to apply."""

    trade: TradeResult
    # The merchant the notification is addressed to (WeChat mchid, Alipay seller_id/app_id),
    # already checked by the adapter against its configuration.
    merchant_id: str = ""


class PaymentProvider:
    """One payment provider. Subclasses implement every method."""

    name: str = ""  # "sandbox", "wechat", "alipay": stored on each attempt
    label: str = ""  # shown to users: 微信支付, 支付宝

    def create_qr(self, trade: NewTrade) -> str:
        """Open a Native/precreate trade and return the text to encode in the QR code."""
        raise NotImplementedError

    def close(self, out_trade_no: str) -> TradeResult:
        """Close a trade so it can no longer be paid.

        Returns CLOSED when the trade is closed or never existed at the provider (an unscanned
        Alipay precreate), PAID with the payment details when it was paid before the close.
        Raises ProviderError when the outcome is unknown.
        """
        raise NotImplementedError

    def query(self, out_trade_no: str) -> TradeResult:
        """Ask the provider for the state of one trade. Raises ProviderError when unknown."""
        raise NotImplementedError

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        """Verify and decode a notification.

        Checks the signature, that the timestamp (where the provider sends one) is within
        five minutes of now, and that the merchant is ours. Raises NotificationRejected.
        The amount and order number are checked by the payment service against its records.
        """
        raise NotImplementedError

    def acknowledgement(self, accepted: bool) -> tuple[bytes, int, dict[str, str]]:
        """Return the HTTP response body, status and headers the provider expects."""
        raise NotImplementedError
