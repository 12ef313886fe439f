from flask import Blueprint

bp = Blueprint("enrollments", __name__, url_prefix="/enrollments")

from app.enrollments import routes  # noqa: F401
