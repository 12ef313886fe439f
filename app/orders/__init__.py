"""订单管理: the order list, details, the payment page and 取消订单."""

from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")

from app.orders import routes  # noqa: E402, F401
