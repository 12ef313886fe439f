"""Role checks for views."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def staff_required(view):
    """Allow association staff and process owners only; others get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def unit_admin_required(view):
    """Allow unit admins only; others get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_unit_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
