"""Views for 管理员登录 and log-out."""

import logging
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from app.auth import bp
from app.auth.throttle import lock_message, record_failure, record_success
from app.extensions import db, login_manager
from app.models import Role, User
from app.trainees.accounts import authenticate
from forms.auth import LoginForm

log = logging.getLogger(__name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def home_endpoint(user: User) -> str:
    """Return the landing page of a role: the inbox for staff, 报名管理 for unit admins."""
    if user.is_staff:
        return "inbox.index"
    return "enrollments.index"


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in a unit admin or staff member by account, or a trainee by ID number."""
    form = LoginForm()
    if form.validate_on_submit():
        if form.role.data == Role.TRAINEE:
            user, error = authenticate(form.username.data, form.password.data)
        else:
            user, error = _authenticate_account(form)
        if error:
            flash(error, "danger")
        else:
            login_user(user)
            log.info("user %s logged in", user.id)
            return redirect(_safe_next() or url_for(home_endpoint(user)))
    return render_template("auth/login.html", form=form)


def _authenticate_account(form: LoginForm) -> tuple[User | None, str | None]:
    """Check an account log-in; return (user, None) or (None, Chinese error message)."""
    user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
    locked = lock_message(user) if user is not None else None
    if locked:
        return None, locked
    if user is None or not user.check_password(form.password.data):
        if user is not None:
            record_failure(user)
        return None, "账号或密码错误，请重新输入。"
    if not _role_matches(user, form.role.data):
        return None, "该账号不属于所选角色，请选择正确的登录角色。"
    if not user.is_active:
        return None, "该账号已停用，请联系厦门市特种设备协会工作人员。"
    record_success(user)
    return user, None


def _role_matches(user: User, chosen: str) -> bool:
    if chosen == Role.UNIT_ADMIN:
        return user.role == Role.UNIT_ADMIN
    if chosen == Role.TRAINEE:
        return False  # trainees log in by ID number, above
    return user.is_staff


def _safe_next() -> str | None:
    """Return ?next= if it is a path on this site, else None."""
    target = request.args.get("next", "")
    return target if is_local_path(target) else None


def is_local_path(target: str) -> bool:
    # Browsers drop tabs and newlines and read a backslash as a slash, so a path such as
    # "/<tab>/evil.example" leaves the site although it starts with a single slash.
    if not target.startswith("/") or target.startswith("//"):
        return False
    if any(char.isspace() or not char.isprintable() or char == "\\" for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))
