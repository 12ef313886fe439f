"""Queries of the orders a user may see, filtered as the order list requests."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import abort
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from app.extensions import db
from app.models import Order, User
from app.models.payment import PaymentAttempt


@dataclass(frozen=True)
class OrderFilters:
    """Search fields of the order list; empty values do not filter."""

    number: str = ""
    status: str = ""
    placed_from: date | None = None
    placed_to: date | None = None
    unit_id: int | None = None


def orders_visible_to(user: User) -> Select:
    """Select the orders a user may see: staff all, a unit admin their unit's, trainees none."""
    stmt = select(Order)
    if user.is_staff:
        return stmt
    if user.is_unit_admin:
        return stmt.where(Order.unit_id == user.unit_id)
    return stmt.where(False)


def filtered_orders(user: User, filters: OrderFilters) -> Select:
    """Select the user's orders that match the filters, newest first, with their units."""
    stmt = orders_visible_to(user).options(selectinload(Order.unit))
    if filters.number:
        number = filters.number.strip()
        # The 商户订单号 on a WeChat or Alipay bill is a QR code's number: find its order too.
        by_trade = select(PaymentAttempt.order_id).where(PaymentAttempt.out_trade_no == number)
        stmt = stmt.where(
            or_(Order.number.contains(number, autoescape=True), Order.id.in_(by_trade))
        )
    if filters.status:
        stmt = stmt.where(Order.status == filters.status)
    if filters.placed_from:
        stmt = stmt.where(Order.placed_at >= datetime.combine(filters.placed_from, time.min))
    # date.max has no next day, and no order is placed that late, so it sets no upper bound.
    if filters.placed_to and filters.placed_to < date.max:
        next_day = datetime.combine(filters.placed_to + timedelta(days=1), time.min)
        stmt = stmt.where(Order.placed_at < next_day)
    if filters.unit_id and user.is_staff:
        stmt = stmt.where(Order.unit_id == filters.unit_id)
    return stmt.order_by(Order.placed_at.desc(), Order.id.desc())


def order_or_404(user: User, order_id: int, options: Sequence[LoaderOption] = ()) -> Order:
    """Load one order the user may see; another unit's order gives the same 404 as none.

    ``options`` are loader options such as selectinload, to load what a page shows at once.
    """
    stmt = orders_visible_to(user).where(Order.id == order_id).options(*options)
    order = db.session.scalar(stmt)
    if order is None:
        abort(404)
    return order
