from flask import Blueprint, abort
from flask_login import current_user

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

from app.inbox import routes  # noqa: F401


@bp.before_request
def _no_trainees():
    # Trainees have no tasks: they complete their own enrollments from 我的报名.
    if current_user.is_authenticated and current_user.is_trainee:
        abort(403)
