"""Placing orders for approved enrollments (在线集体缴费) and what a unit still owes.

An enrollment joins an order by a conditional UPDATE that only matches while no other unpaid
order contains it, so two orders placed at the same moment cannot both take it.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import CatalogItem, CatalogKind, Enrollment, EnrollmentStatus, Unit, User
from app.models.clock import now
from app.models.payment import (
    InvoiceType,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    PaymentStatus,
)
from app.payments.numbers import order_name, order_number

log = logging.getLogger(__name__)


class OrderError(Exception):
    """Error raised when an order cannot be placed.

    ``message`` is Chinese, shown to the user, and states the cause and what to do next.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InvoiceDetails:
    """发票内容 typed when confirming the order, kept to pre-fill the invoice request."""

    invoice_type: str = InvoiceType.NORMAL
    title: str = ""
    tax_number: str = ""
    address: str = ""
    phone: str = ""
    bank: str = ""
    account: str = ""
    remark: str = ""


def class_name(enrollment: Enrollment) -> str:
    """Return the 班级名称 as the manual prints it: type, then project (特种设备使用单位电梯)."""
    return f"{enrollment.training_type}{enrollment.training_project}"


def project_fees() -> dict[str, int | None]:
    """Load the fee in fen of each training project by name, None where staff have set no fee."""
    rows = db.session.execute(
        select(CatalogItem.name, CatalogItem.fee_fen).where(
            CatalogItem.kind == CatalogKind.TRAINING_PROJECT
        )
    )
    return {name: fee for name, fee in rows}


def unpaid_enrollments(unit_id: int) -> Select:
    """Select the unit's approved enrollments whose fee is unpaid, oldest approval first.

    The trainee is loaded in the same query because every page and message names them.
    """
    return (
        select(Enrollment)
        .join(Enrollment.trainee)
        .options(contains_eager(Enrollment.trainee))
        .where(
            Enrollment.unit_id == unit_id,
            Enrollment.status == EnrollmentStatus.APPROVED,
            Enrollment.payment_status == PaymentStatus.UNPAID,
        )
        .order_by(Enrollment.decided_at, Enrollment.id)
    )


def pending_orders_by_id(enrollments: list[Enrollment]) -> dict[int, Order]:
    """Load the unpaid orders that contain any of these enrollments, keyed by order id."""
    ids = {e.pending_order_id for e in enrollments if e.pending_order_id is not None}
    if not ids:
        return {}
    return {o.id: o for o in db.session.scalars(select(Order).where(Order.id.in_(ids)))}


@dataclass
class Selection:
    """The enrollments a unit picked to pay, split by whether they can join a new order."""

    payable: list[Enrollment]
    in_other_order: list[tuple[Enrollment, Order]]
    without_fee: list[Enrollment]
    fees: dict[str, int | None]  # project fees in fen when the selection was made

    @property
    def total_fen(self) -> int:
        return sum(self.fees[e.training_project] for e in self.payable)


def select_for_payment(unit: Unit, enrollment_ids: list[int] | None) -> Selection:
    """Split the chosen (or, for 全部支付, all) unpaid enrollments of the unit.

    Ids of other units' or unpayable enrollments are ignored: they never match the query.
    """
    stmt = unpaid_enrollments(unit.id)
    if enrollment_ids is not None:
        stmt = stmt.where(Enrollment.id.in_(enrollment_ids))
    enrollments = list(db.session.scalars(stmt))
    orders = pending_orders_by_id(enrollments)
    fees = project_fees()

    selection = Selection(payable=[], in_other_order=[], without_fee=[], fees=fees)
    for enrollment in enrollments:
        if enrollment.pending_order_id is not None:
            selection.in_other_order.append((enrollment, orders[enrollment.pending_order_id]))
        elif fees.get(enrollment.training_project) is None:
            selection.without_fee.append(enrollment)
        else:
            selection.payable.append(enrollment)
    return selection


def place_order(
    unit: Unit, enrollment_ids: list[int], invoice: InvoiceDetails, user: User
) -> Order:
    """Create a pending order for the enrollments, hold them, and schedule its cancellation.

    A zero-fee order is paid at once. Raises OrderError when none of the enrollments can be
    paid now or another order took some of them meanwhile.
    """
    selection = select_for_payment(unit, enrollment_ids)
    if not selection.payable:
        raise OrderError(nothing_payable_message(selection))
    if len(selection.payable) != len(set(enrollment_ids)):
        raise OrderError(
            "所选报名中有的已在其他待付款订单中或已缴费，请返回缴费管理刷新后重新选择。"
        )

    placed_at = now()
    order = _new_order(unit, selection, invoice, user, placed_at)
    _hold_enrollments(order, selection.payable)
    if order.total_fen == 0:
        from app.payments.settlement import mark_order_paid

        mark_order_paid(order, paid_at=placed_at)
    db.session.commit()
    log.info(
        "order %s placed by user %s: %d enrollment(s), %d fen",
        order.number,
        user.id,
        len(order.items),
        order.total_fen,
    )
    if order.status == OrderStatus.PENDING:
        from app.payments.hold import schedule_cancellation

        schedule_cancellation(order)
    return order


def nothing_payable_message(selection: Selection) -> str:
    """Build the message that explains why none of the chosen enrollments can be paid now."""
    if selection.in_other_order:
        listed = "；".join(
            f"{e.trainee.name}（订单 {o.number}）" for e, o in selection.in_other_order[:10]
        )
        return (
            "所选报名已在待付款订单中，请到【订单管理】对该订单点击【立即支付】，"
            f"或取消该订单后重新下单：{listed}。"
        )
    if selection.without_fee:
        projects = "、".join(sorted({e.training_project for e in selection.without_fee}))
        return f"培训项目“{projects}”尚未设置培训费，暂不能缴费，请联系协会工作人员。"
    return "没有可缴费的报名：只有“审核通过”且未缴费的报名可以缴费。"


def _new_order(
    unit: Unit, selection: Selection, invoice: InvoiceDetails, user: User, placed_at
) -> Order:
    fees = selection.fees
    config = current_app.config
    order = Order(
        number=order_number(config["ORDER_NUMBER_PREFIX"], placed_at),
        name=order_name(OrderKind.ONLINE, placed_at),
        kind=OrderKind.ONLINE,
        unit_id=unit.id,
        organization=config["TRAINING_ORGANIZATION"],
        total_fen=0,
        status=OrderStatus.PENDING,
        placed_at=placed_at,
        expires_at=placed_at + timedelta(hours=config["ORDER_HOLD_HOURS"]),
        placed_by_id=user.id,
        invoice_type=invoice.invoice_type,
        invoice_title=invoice.title,
        invoice_tax_number=invoice.tax_number,
        invoice_address=invoice.address,
        invoice_phone=invoice.phone,
        invoice_bank=invoice.bank,
        invoice_account=invoice.account,
        invoice_remark=invoice.remark,
    )
    for enrollment in selection.payable:
        price = fees[enrollment.training_project]
        order.items.append(
            OrderItem(
                enrollment_id=enrollment.id,
                trainee_name=enrollment.trainee.name,
                id_number=enrollment.trainee.id_number,
                class_name=class_name(enrollment),
                price_fen=price,
            )
        )
        order.total_fen += price
    db.session.add(order)
    try:
        db.session.flush()
    except IntegrityError as error:  # the ten random digits repeated within one second
        db.session.rollback()
        raise OrderError(
            "订单编号与同时提交的订单重复，订单未创建，请再点一次【提交支付】。"
        ) from error
    return order


def _hold_enrollments(order: Order, enrollments: list[Enrollment]) -> None:
    ids = [e.id for e in enrollments]
    held_count = db.session.execute(
        update(Enrollment)
        .where(
            Enrollment.id.in_(ids),
            Enrollment.pending_order_id.is_(None),
            Enrollment.payment_status == PaymentStatus.UNPAID,
            Enrollment.status == EnrollmentStatus.APPROVED,
        )
        .values(pending_order_id=order.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if held_count != len(ids):
        db.session.rollback()
        raise OrderError("所选报名中有的刚被加入其他订单，请返回缴费管理刷新后重新选择。")
    for enrollment in enrollments:
        set_committed_value(enrollment, "pending_order_id", order.id)
