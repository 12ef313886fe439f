"""Orders (订单), their items, payment attempts at a provider and raw notifications.

Money is integer fen everywhere. An order's status changes only by a conditional UPDATE
(``WHERE status = 'pending'``), so a payment, the 48-hour timer and the user's 取消订单 that
arrive together leave exactly one outcome.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Unit, User
from app.models.clock import now
from app.models.enrollment import Enrollment


class PaymentStatus:
    """Whether an approved enrollment's fee has been paid."""

    UNPAID = "unpaid"
    PAID = "paid"

    LABELS = {UNPAID: "未缴费", PAID: "已缴费"}


class OrderStatus:
    """订单状态, which changes only from pending to paid or to cancelled."""

    PENDING = "pending"
    PAID = "paid"
    CANCELLED = "cancelled"

    LABELS = {PENDING: "待付款", PAID: "已付款", CANCELLED: "已取消"}


class OrderKind:
    ONLINE = "online"

    NAME_SUFFIX = {ONLINE: "线上培训费订单"}


class InvoiceStatus:
    """开票状态 of an order, as the order list shows it."""

    TO_ISSUE = "to_issue"
    REVIEWING = "reviewing"
    REJECTED = "rejected"
    ISSUED = "issued"

    LABELS = {TO_ISSUE: "待开票", REVIEWING: "审核中", REJECTED: "已拒绝", ISSUED: "已开票"}


class InvoiceType:
    """发票类型 requested with the order."""

    NORMAL = "normal"
    SPECIAL = "special"

    LABELS = {NORMAL: "增值税普通发票", SPECIAL: "增值税专用发票"}


class Order(db.Model):
    """An order (订单) of one unit for one or more approved enrollments, in integer fen."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 订单编号
    name: Mapped[str] = mapped_column(String(64))  # 订单名称
    kind: Mapped[str] = mapped_column(String(16), default=OrderKind.ONLINE)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    organization: Mapped[str] = mapped_column(String(100))  # 所属培训机构
    total_fen: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING, index=True)
    placed_at: Mapped[datetime] = mapped_column(default=now, index=True)  # 下单时间
    expires_at: Mapped[datetime] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()  # 缴费时间
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[str] = mapped_column(String(100), default="", server_default="")
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Invoice details typed at confirmation; they pre-fill the invoice request.
    invoice_status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.TO_ISSUE)
    invoice_type: Mapped[str] = mapped_column(String(16), default=InvoiceType.NORMAL)
    invoice_title: Mapped[str] = mapped_column(String(200), default="")
    invoice_tax_number: Mapped[str] = mapped_column(String(32), default="")
    invoice_address: Mapped[str] = mapped_column(String(200), default="")
    invoice_phone: Mapped[str] = mapped_column(String(32), default="")
    invoice_bank: Mapped[str] = mapped_column(String(100), default="")
    invoice_account: Mapped[str] = mapped_column(String(64), default="")
    invoice_remark: Mapped[str] = mapped_column(String(200), default="")

    unit: Mapped[Unit] = relationship()
    placed_by: Mapped[User | None] = relationship()
    items: Mapped[list["OrderItem"]] = relationship(back_populates="order", order_by="OrderItem.id")
    attempts: Mapped[list["PaymentAttempt"]] = relationship(
        back_populates="order", order_by="PaymentAttempt.id"
    )

    @property
    def status_label(self) -> str:
        return OrderStatus.LABELS.get(self.status, self.status)

    @property
    def invoice_status_label(self) -> str:
        return InvoiceStatus.LABELS.get(self.invoice_status, self.invoice_status)

    @property
    def invoice_type_label(self) -> str:
        return InvoiceType.LABELS.get(self.invoice_type, self.invoice_type)


class OrderItem(db.Model):
    """One enrollment in an order, with the name, class and price as they were when placed."""

    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "enrollment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    trainee_name: Mapped[str] = mapped_column(String(50))
    id_number: Mapped[str] = mapped_column(String(32))
    class_name: Mapped[str] = mapped_column(String(130))  # 班级名称: training type + project
    price_fen: Mapped[int] = mapped_column()

    order: Mapped[Order] = relationship(back_populates="items")
    enrollment: Mapped[Enrollment] = relationship()


class AttemptStatus:
    """State of one QR code as this application last recorded it."""

    OPEN = "open"  # QR code shown, and it can still be paid
    CLOSED = "closed"  # closed at the provider; can no longer be paid
    PAID = "paid"

    LABELS = {OPEN: "待支付", CLOSED: "已关闭", PAID: "已支付"}


class RefundStatus:
    """Refund state of money that arrived for an order already settled."""

    NONE = ""
    PENDING = "pending"  # money taken for an order that was already settled: give it back
    DONE = "done"

    LABELS = {NONE: "", PENDING: "待退款", DONE: "已退款"}


class PaymentAttempt(db.Model):
    """One QR code: one merchant order number at one provider."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("provider", "out_trade_no"),
        # One payment at the provider is recorded once, however often it is notified.
        Index(
            "uq_payment_attempts_transaction",
            "provider",
            "transaction_id",
            unique=True,
            sqlite_where=text("transaction_id != ''"),
            postgresql_where=text("transaction_id != ''"),
        ),
        # The sweep checks, for each expired order, whether a QR code is still open. This index
        # serves that check from the open attempts alone.
        Index(
            "ix_payment_attempts_open_order",
            "order_id",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column()
    qr_text: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.OPEN, index=True)
    transaction_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    paid_fen: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)
    closed_at: Mapped[datetime | None] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()
    # Set when money arrived for an order that was already paid or cancelled.
    refund_status: Mapped[str] = mapped_column(String(16), default="", server_default="")
    refund_reason: Mapped[str] = mapped_column(String(100), default="", server_default="")
    refunded_at: Mapped[datetime | None] = mapped_column()
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    order: Mapped[Order] = relationship(back_populates="attempts")

    @property
    def status_label(self) -> str:
        return AttemptStatus.LABELS.get(self.status, self.status)


class PaymentNotification(db.Model):
    """Audit record of one received notification, stored as received, with its outcome."""

    __tablename__ = "payment_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=now, index=True)
    headers_json: Mapped[str] = mapped_column(Text, default="{}")
    body: Mapped[str] = mapped_column(Text, default="")
    # paid, duplicate, late (paid for a settled order), mismatch, ignored (authentic, but no
    # payment) or rejected
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(300), default="")
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("payment_attempts.id"))


class SandboxTrade(db.Model):
    """The sandbox provider's own side of a trade, as a real provider would keep it."""

    __tablename__ = "sandbox_trades"

    out_trade_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount_fen: Mapped[int] = mapped_column()
    subject: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    transaction_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    # The end of the order's hold: the platform takes no payment after it.
    expires_at: Mapped[datetime | None] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()
