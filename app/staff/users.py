"""账号管理: association staff accounts and their groups (BPMN lanes)."""

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.service import AccountError, create_staff, set_staff_groups, staff_groups
from app.auth.access import staff_required
from app.extensions import db
from app.models import Role, User
from app.pagination import paginate
from app.staff import bp
from app.staff.forms_support import show_error
from forms.staff import ActionForm, GroupsForm, StaffAccountForm


@bp.route("/users")
@staff_required
def users():
    """List staff accounts with their groups."""
    stmt = (
        select(User)
        .where(User.role.in_([Role.STAFF, Role.PROCESS_OWNER]))
        .options(selectinload(User.groups))
        .order_by(User.id)
    )
    page = paginate(stmt)
    return render_template(
        "staff/users.html", page=page, roles=Role.LABELS, action_form=ActionForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@staff_required
def user_create():
    """Create a staff account in one or more groups."""
    form = StaffAccountForm()
    form.groups.choices = _group_choices()
    if form.validate_on_submit():
        try:
            user = create_staff(
                form.username.data, form.display_name.data, form.password.data, form.groups.data
            )
        except AccountError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"已创建协会工作人员账号 {user.username}。", "success")
            return redirect(url_for("staff.users"))
    return render_template("staff/user_form.html", form=form)


@bp.route("/users/<int:user_id>/groups", methods=["GET", "POST"])
@staff_required
def user_groups(user_id: int):
    """Set the groups of one staff account."""
    user = db.get_or_404(User, user_id)
    if not user.is_staff:
        # Unit admins act through their unit's lane, never through staff groups.
        flash("单位管理员账号不能设置协会分组。", "warning")
        return redirect(url_for("staff.users"))
    form = GroupsForm()
    form.groups.choices = _group_choices()
    if not form.is_submitted():
        form.groups.data = [group.name for group in user.groups]
    if form.validate_on_submit():
        try:
            set_staff_groups(user, form.groups.data)
        except AccountError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"已保存 {user.display_name} 的分组。", "success")
            return redirect(url_for("staff.users"))
    return render_template("staff/user_groups.html", user=user, form=form)


def _group_choices() -> list[tuple[str, str]]:
    return [(group.name, group.name) for group in staff_groups()]
