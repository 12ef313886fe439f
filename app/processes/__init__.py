"""Process model versions for process owners and staff (流程管理)."""

from flask import Blueprint

bp = Blueprint("processes", __name__, url_prefix="/processes")

from app.processes import routes  # noqa: E402,F401
