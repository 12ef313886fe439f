"""单位管理: list, create and edit units, and manage each unit's admin accounts."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from app.accounts.service import (
    AccountError,
    UnitFields,
    create_unit,
    create_unit_admin,
    reset_password,
    set_account_active,
    update_unit,
)
from app.auth.access import staff_required
from app.extensions import db
from app.models import Role, Unit, User
from app.pagination import paginate
from app.staff import bp
from app.staff.forms_support import show_error
from forms.staff import AccountForm, ActionForm, PasswordForm, SearchForm, UnitForm


@bp.route("/units")
@staff_required
def units():
    """List units, filtered by part of the name or code."""
    form = SearchForm(request.args)
    stmt = select(Unit).order_by(Unit.created_at.desc(), Unit.id.desc())
    keyword = (form.q.data or "").strip()
    if keyword:
        stmt = stmt.where(
            or_(
                Unit.name.contains(keyword, autoescape=True),
                Unit.code.contains(keyword.upper(), autoescape=True),
            )
        )
    page = paginate(stmt)
    return render_template(
        "staff/units.html", form=form, page=page, admin_counts=_admin_counts(page.items)
    )


@bp.route("/units/new", methods=["GET", "POST"])
@staff_required
def unit_create():
    """Create a unit; its admin accounts are added on the next page."""
    form = UnitForm()
    if form.validate_on_submit():
        try:
            unit = create_unit(_unit_fields(form))
        except AccountError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"已新增单位“{unit.name}”，请为其创建单位管理员账号。", "success")
            return redirect(url_for("staff.unit_admins", unit_id=unit.id))
    return render_template("staff/unit_form.html", form=form, unit=None)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@staff_required
def unit_edit(unit_id: int):
    unit = db.get_or_404(Unit, unit_id)
    form = UnitForm(obj=unit)
    if form.validate_on_submit():
        try:
            update_unit(unit, _unit_fields(form))
        except AccountError as error:
            db.session.rollback()
            show_error(form, error.field, error.message)
        else:
            flash(f"已保存单位“{unit.name}”。", "success")
            return redirect(url_for("staff.units"))
    return render_template("staff/unit_form.html", form=form, unit=unit)


@bp.route("/units/<int:unit_id>/admins", methods=["GET", "POST"])
@staff_required
def unit_admins(unit_id: int):
    """List a unit's admin accounts and create a new one."""
    unit = db.get_or_404(Unit, unit_id)
    form = AccountForm()
    if form.validate_on_submit():
        try:
            user = create_unit_admin(
                unit, form.username.data, form.display_name.data, form.password.data
            )
        except AccountError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"已为“{unit.name}”创建管理员账号 {user.username}。", "success")
            return redirect(url_for("staff.unit_admins", unit_id=unit.id))
    admins = db.session.scalars(select(User).where(User.unit_id == unit.id).order_by(User.id)).all()
    return render_template(
        "staff/unit_admins.html", unit=unit, admins=admins, form=form, action_form=ActionForm()
    )


@bp.route("/accounts/<int:user_id>/password", methods=["GET", "POST"])
@staff_required
def account_password(user_id: int):
    """Set a new password for a unit admin or staff account."""
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            reset_password(user, form.password.data)
        except AccountError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"已重置账号 {user.username} 的密码，请将新密码告知本人。", "success")
            return redirect(_accounts_page(user))
    return render_template(
        "staff/account_password.html", user=user, form=form, back_url=_accounts_page(user)
    )


@bp.route("/accounts/<int:user_id>/active", methods=["POST"])
@staff_required
def account_active(user_id: int):
    """Disable or enable an account (停用 / 启用)."""
    user = db.get_or_404(User, user_id)
    form = ActionForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            set_account_active(user, active, current_user)
        except AccountError as error:
            flash(error.message, "danger")
        else:
            verb = "启用" if active else "停用"
            flash(f"已{verb}账号 {user.username}。", "success")
    return redirect(_accounts_page(user))


def _unit_fields(form: UnitForm) -> UnitFields:
    return UnitFields(
        code=form.code.data,
        name=form.name.data,
        credit_code=form.credit_code.data,
        contact_name=form.contact_name.data or "",
        contact_phone=form.contact_phone.data or "",
        address=form.address.data or "",
    )


def _admin_counts(units: list[Unit]) -> dict[int, int]:
    if not units:
        return {}
    stmt = (
        select(User.unit_id, func.count())
        .where(User.unit_id.in_([unit.id for unit in units]), User.role == Role.UNIT_ADMIN)
        .group_by(User.unit_id)
    )
    return dict(db.session.execute(stmt).all())


def _accounts_page(user: User) -> str:
    if user.unit_id is not None:
        return url_for("staff.unit_admins", unit_id=user.unit_id)
    if user.is_staff:
        return url_for("staff.users")
    abort(404)
