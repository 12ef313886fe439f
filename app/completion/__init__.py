"""The four-step enrollment form (完善报名信息), document uploads and the application form."""

from flask import Blueprint

bp = Blueprint("completion", __name__)

from app.completion import routes  # noqa: F401
