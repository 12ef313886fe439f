"""Which orders a user may see, filtered as the order list asks."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import abort
from sqlalchemy import Select, select

from app.extensions import db
from app.models import Order, User


@dataclass(frozen=True)
class OrderFilters:
    number: str = ""
    status: str = ""
    placed_from: date | None = None
    placed_to: date | None = None
    unit_id: int | None = None


def orders_visible_to(user: User) -> Select:
    """Staff see every unit's orders; a unit admin only their unit's; trainees none."""
    stmt = select(Order)
    if user.is_staff:
        return stmt
    if user.is_unit_admin:
        return stmt.where(Order.unit_id == user.unit_id)
    return stmt.where(False)


def filtered_orders(user: User, filters: OrderFilters) -> Select:
    stmt = orders_visible_to(user)
    if filters.number:
        stmt = stmt.where(Order.number.contains(filters.number.strip(), autoescape=True))
    if filters.status:
        stmt = stmt.where(Order.status == filters.status)
    if filters.placed_from:
        stmt = stmt.where(Order.placed_at >= datetime.combine(filters.placed_from, time.min))
    if filters.placed_to:
        next_day = datetime.combine(filters.placed_to + timedelta(days=1), time.min)
        stmt = stmt.where(Order.placed_at < next_day)
    if filters.unit_id and user.is_staff:
        stmt = stmt.where(Order.unit_id == filters.unit_id)
    return stmt.order_by(Order.placed_at.desc(), Order.id.desc())


def order_or_404(user: User, order_id: int) -> Order:
    """One order the user may see; another unit's order gives the same 404 as none."""
    order = db.session.scalar(orders_visible_to(user).where(Order.id == order_id))
    if order is None:
        abort(404)
    return order
