"""Log-in and log-out, and the role checks that every other blueprint uses."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes  # noqa: E402,F401
