"""The sandbox provider: a stand-in payment platform for demos and tests.

It keeps its side of each trade in its own table. On PostgreSQL it writes on its own
connection and commits at once, as a remote platform would. On SQLite it writes in the
caller's transaction instead, because the caller holds the database's only write lock while
it talks to the provider (see settlement.lock_order). Its QR code opens a local page where 模拟支付成功 pays
the trade and sends a signed notification through the same handler as a real provider's.
"""

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import url_for
from sqlalchemy import insert, or_, select, update

from app.extensions import db
from app.models.clock import now
from app.models.payment import SandboxTrade
from app.payments.providers.base import (
    NewTrade,
    Notification,
    NotificationRejected,
    PaymentProvider,
    TradeResult,
    TradeState,
)

MERCHANT_ID = "sandbox"
# A notification whose timestamp is further than this from now is rejected as a replay.
FRESHNESS_SECONDS = 300

CHANNELS = {"sandbox-wechat": "微信支付（模拟）", "sandbox-alipay": "支付宝（模拟）"}


class SandboxProvider(PaymentProvider):
    """Stand-in payment platform that keeps its trades in the sandbox_trades table."""

    def __init__(self, name: str, key: str):
        if name not in CHANNELS:
            raise KeyError(name)
        self.name = name
        self.label = CHANNELS[name]
        self._key = key.encode()

    # --- the merchant side: what our payment service calls -----------------------------------

    def create_qr(self, trade: NewTrade) -> str:
        with _platform_connection() as connection:
            connection.execute(
                insert(SandboxTrade).values(
                    out_trade_no=trade.out_trade_no,
                    amount_fen=trade.amount_fen,
                    subject=trade.subject,
                    state=TradeState.PENDING,
                    transaction_id="",
                    created_at=now(),
                    expires_at=trade.expires_at,
                )
            )
        return url_for("payments.sandbox_page", out_trade_no=trade.out_trade_no, _external=True)

    def close(self, out_trade_no: str) -> TradeResult:
        # One connection for both statements: the sweep closes many QR codes in a row.
        with _platform_connection() as connection:
            connection.execute(
                update(SandboxTrade)
                .where(
                    SandboxTrade.out_trade_no == out_trade_no,
                    SandboxTrade.state == TradeState.PENDING,
                )
                .values(state=TradeState.CLOSED)
            )
            return _trade_result(connection, out_trade_no)

    def query(self, out_trade_no: str) -> TradeResult:
        with _platform_connection() as connection:
            return _trade_result(connection, out_trade_no)

    def parse_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        timestamp = headers.get("X-Sandbox-Timestamp", "")
        nonce = headers.get("X-Sandbox-Nonce", "")
        signature = headers.get("X-Sandbox-Signature", "")
        if not (timestamp.isascii() and timestamp.isdigit() and nonce and signature):
            raise NotificationRejected("missing or invalid sandbox signature headers")

        # Compared as bytes, because compare_digest raises TypeError on non-ASCII text and a
        # header may contain any Latin-1 character.
        expected = self._sign(timestamp, nonce, body).encode()
        if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
            raise NotificationRejected("invalid sandbox signature")
        if abs(time.time() - int(timestamp)) > FRESHNESS_SECONDS:
            raise NotificationRejected(
                f"stale sandbox notification: timestamp {timestamp} is more than "
                f"{FRESHNESS_SECONDS} s from now"
            )

        try:
            data = json.loads(body)
            trade = TradeResult(
                out_trade_no=str(data["out_trade_no"]),
                state=TradeState.PAID,
                transaction_id=str(data["transaction_id"]),
                amount_fen=int(data["amount_fen"]),
                paid_at=now(),
                raw=data,
            )
            merchant = str(data["merchant_id"])
        except (ValueError, KeyError, TypeError) as error:
            raise NotificationRejected(f"malformed sandbox notification: {error}") from error

        if merchant != MERCHANT_ID:
            raise NotificationRejected(
                f"sandbox notification for merchant {merchant!r}, expected {MERCHANT_ID!r}"
            )
        return Notification(trade=trade, merchant_id=merchant)

    def acknowledgement(self, accepted: bool) -> tuple[bytes, int, dict[str, str]]:
        body = json.dumps({"code": "SUCCESS" if accepted else "FAIL"}).encode()
        return body, 200 if accepted else 400, {"Content-Type": "application/json"}

    # --- the platform side: what the buyer's 模拟支付成功 does ------------------------------------

    def pay(self, out_trade_no: str) -> tuple[dict[str, str], bytes] | None:
        """Take the buyer's money if the trade is still open; return the signed notification.

        Returns None when the trade is closed, paid already or unknown, as a real platform
        would refuse a stale QR code.
        """
        transaction_id = "SBX" + secrets.token_hex(12).upper()
        with _platform_connection() as connection:
            paid = connection.execute(
                update(SandboxTrade)
                .where(
                    SandboxTrade.out_trade_no == out_trade_no,
                    SandboxTrade.state == TradeState.PENDING,
                    # Like WeChat's time_expire: a QR code past its order's hold cannot be paid.
                    or_(SandboxTrade.expires_at.is_(None), SandboxTrade.expires_at > now()),
                )
                .values(state=TradeState.PAID, transaction_id=transaction_id, paid_at=now())
            ).rowcount
            amount_fen = connection.scalar(
                select(SandboxTrade.amount_fen).where(SandboxTrade.out_trade_no == out_trade_no)
            )
        if db.engine.dialect.name == "sqlite":
            db.session.commit()  # the platform's own decision, whatever the caller does next
        if not paid:
            return None
        return self.signed_notification(out_trade_no, transaction_id, amount_fen)

    def signed_notification(
        self,
        out_trade_no: str,
        transaction_id: str,
        amount_fen: int,
        merchant_id: str = MERCHANT_ID,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Build the headers and body of a signed notification, as the platform sends it."""
        body = json.dumps(
            {
                "merchant_id": merchant_id,
                "out_trade_no": out_trade_no,
                "transaction_id": transaction_id,
                "amount_fen": amount_fen,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(8)
        headers = {
            "X-Sandbox-Timestamp": stamp,
            "X-Sandbox-Nonce": nonce,
            "X-Sandbox-Signature": self._sign(stamp, nonce, body),
        }
        return headers, body

    def _sign(self, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


@contextmanager
def _platform_connection() -> Iterator:
    """Yield the connection the sandbox platform reads and writes its trades on.

    PostgreSQL: a connection of its own, committed when the block ends. SQLite: the session's
    connection, so that the caller's write lock does not make the platform wait for itself.
    """
    if db.engine.dialect.name == "sqlite":
        yield db.session.connection()
        return
    with db.engine.begin() as connection:
        yield connection


def _trade_result(connection, out_trade_no: str) -> TradeResult:
    """Read one trade as the platform reports it; an unknown trade is closed."""
    row = connection.execute(
        select(SandboxTrade).where(SandboxTrade.out_trade_no == out_trade_no)
    ).first()
    if row is None:
        return TradeResult(out_trade_no, TradeState.CLOSED)
    return TradeResult(
        out_trade_no,
        TradeState(row.state),
        transaction_id=row.transaction_id,
        amount_fen=row.amount_fen if row.state == TradeState.PAID else None,
        paid_at=row.paid_at,
    )
