"""缴费管理: paying approved enrollments online, provider notifications and the sandbox."""

from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/payments")

from app.payments import routes  # noqa: E402, F401
