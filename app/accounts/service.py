"""Create and change units and accounts; used by the staff pages and the ``flask`` commands.

Every check raises AccountError with a Chinese message for the pages and an English one for
the command line, and nothing is written when a check fails.
"""

import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from app.accounts.credit_code import credit_code_error, normalize_credit_code
from app.extensions import db
from app.models import Group, GroupKind, Role, Unit, User

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
UNIT_CODE_PATTERN = re.compile(r"^[A-Z0-9]{2,32}$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
PHONE_PATTERN = re.compile(r"^[0-9+\-() ]{0,20}$")


class AccountError(ValueError):
    """A rejected unit or account change: ``message`` is Chinese, ``detail`` English."""

    def __init__(self, field: str, message: str, detail: str):
        super().__init__(detail)
        self.field = field
        self.message = message
        self.detail = detail


@dataclass
class UnitFields:
    code: str
    name: str
    credit_code: str
    contact_name: str = ""
    contact_phone: str = ""
    address: str = ""


# --- Units -----------------------------------------------------------------------------------


def create_unit(fields: UnitFields) -> Unit:
    """Insert a unit after checking its code, name, credit code and contact phone."""
    cleaned = _checked_unit_fields(fields, unit_id=None)
    unit = Unit(**vars(cleaned))
    db.session.add(unit)
    db.session.commit()
    log.info("unit %s created (code %s)", unit.id, unit.code)
    return unit


def update_unit(unit: Unit, fields: UnitFields) -> Unit:
    """Change a unit's fields after the same checks as on creation."""
    cleaned = _checked_unit_fields(fields, unit_id=unit.id)
    for name, value in vars(cleaned).items():
        setattr(unit, name, value)
    db.session.commit()
    log.info("unit %s updated", unit.id)
    return unit


def find_unit_by_code(code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code.strip().upper()))
    if unit is None:
        raise AccountError("unit", "找不到该单位编码，请核对。", f"No unit has the code {code!r}.")
    return unit


def _checked_unit_fields(fields: UnitFields, unit_id: int | None) -> UnitFields:
    cleaned = UnitFields(
        code=(fields.code or "").strip().upper(),
        name=(fields.name or "").strip(),
        credit_code=normalize_credit_code(fields.credit_code),
        contact_name=(fields.contact_name or "").strip(),
        contact_phone=(fields.contact_phone or "").strip(),
        address=(fields.address or "").strip(),
    )
    _check_unit_code(cleaned.code, unit_id)
    if not cleaned.name or len(cleaned.name) > 200:
        raise AccountError(
            "name", "请填写单位名称（不超过200个字）。", "The unit name is missing or too long."
        )
    _check_credit_code(cleaned.credit_code, unit_id)
    if len(cleaned.contact_name) > 50:
        raise AccountError(
            "contact_name", "联系人不能超过50个字。", "The contact name is longer than 50."
        )
    if len(cleaned.address) > 200:
        raise AccountError(
            "address", "单位地址不能超过200个字。", "The address is longer than 200."
        )
    if not PHONE_PATTERN.match(cleaned.contact_phone):
        raise AccountError(
            "contact_phone",
            "联系电话只能包含数字、空格、+、- 和括号，不超过20位，例如 0592-5551234。",
            f"Invalid contact phone {cleaned.contact_phone!r}.",
        )
    return cleaned


def _check_unit_code(code: str, unit_id: int | None) -> None:
    if not UNIT_CODE_PATTERN.match(code):
        raise AccountError(
            "code",
            "单位编码只能由2至32位大写字母或数字组成，例如 XMJD01。",
            f"Invalid unit code {code!r}: use 2 to 32 capital letters or digits.",
        )
    other = db.session.scalar(select(Unit).where(Unit.code == code, Unit.id != unit_id))
    if other is not None:
        raise AccountError(
            "code",
            f"单位编码 {code} 已被“{other.name}”使用，请换一个编码。",
            f"The unit code {code} is already used by unit {other.id}.",
        )


def _check_credit_code(credit_code: str, unit_id: int | None) -> None:
    error = credit_code_error(credit_code)
    if error:
        raise AccountError(
            "credit_code", error, f"Invalid unified social credit code {credit_code!r}."
        )
    other = db.session.scalar(
        select(Unit).where(Unit.credit_code == credit_code, Unit.id != unit_id)
    )
    if other is not None:
        raise AccountError(
            "credit_code",
            f"该统一社会信用代码已登记为“{other.name}”，同一单位不能重复登记。",
            f"The credit code {credit_code} is already registered to unit {other.id}.",
        )


# --- Accounts --------------------------------------------------------------------------------


def create_unit_admin(unit: Unit, username: str, display_name: str, password: str) -> User:
    """Create an administrator account of one unit."""
    user = _new_user(username, display_name, password, Role.UNIT_ADMIN)
    user.unit = unit
    db.session.add(user)
    db.session.commit()
    log.info("unit admin %s created for unit %s", user.id, unit.id)
    return user


def create_staff(username: str, display_name: str, password: str, group_names: list[str]) -> User:
    """Create an association staff account in the named staff groups."""
    groups = staff_groups_named(group_names)
    user = _new_user(username, display_name, password, Role.STAFF)
    user.groups = groups
    db.session.add(user)
    db.session.commit()
    log.info("staff account %s created in groups %s", user.id, [group.id for group in groups])
    return user


def set_staff_groups(user: User, group_names: list[str]) -> None:
    """Replace a staff member's staff groups (a member may be in several)."""
    if not user.is_staff:
        raise AccountError(
            "groups", "只有协会工作人员账号可以设置分组。", f"User {user.id} is not staff."
        )
    groups = staff_groups_named(group_names)
    # Groups of other kinds never hold staff, but keep them untouched rather than guess.
    other_kind_groups = [group for group in user.groups if group.kind != GroupKind.STAFF]
    user.groups = other_kind_groups + groups
    db.session.commit()
    log.info("staff account %s groups set to %s", user.id, [group.id for group in groups])


def reset_password(user: User, password: str) -> None:
    check_password_strength(password)
    user.set_password(password)
    db.session.commit()
    log.info("password reset for account %s", user.id)


def set_account_active(user: User, active: bool, actor: User) -> None:
    """Enable or disable an account; a user cannot disable the account they are logged in as."""
    if user.id == actor.id and not active:
        raise AccountError(
            "active", "不能停用当前登录的账号。", "An account cannot disable itself."
        )
    user.is_active_account = active
    db.session.commit()
    log.info("account %s %s by %s", user.id, "enabled" if active else "disabled", actor.id)


def staff_groups() -> list[Group]:
    stmt = select(Group).where(Group.kind == GroupKind.STAFF).order_by(Group.name)
    return list(db.session.scalars(stmt))


def staff_groups_named(names: list[str]) -> list[Group]:
    """Return the staff groups with these names, rejecting unknown or non-staff names."""
    by_name = {group.name: group for group in staff_groups()}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        known = ", ".join(by_name) or "(none)"
        raise AccountError(
            "groups",
            f"分组不存在：{'、'.join(unknown)}。",
            f"Unknown staff group {', '.join(unknown)}; known groups: {known}.",
        )
    if not names:
        raise AccountError("groups", "请至少选择一个分组。", "Give at least one staff group.")
    return [by_name[name] for name in dict.fromkeys(names)]


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "password",
            f"密码至少需要{MIN_PASSWORD_LENGTH}位，请重新设置。",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
        )


def _new_user(username: str, display_name: str, password: str, role: str) -> User:
    username = (username or "").strip()
    display_name = (display_name or "").strip()
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            "username",
            "账号只能由3至64位字母、数字、下划线、点或短横线组成。",
            f"Invalid username {username!r}: use 3 to 64 letters, digits, '_', '.' or '-'.",
        )
    existing_id = db.session.scalar(
        select(User.id).where(func.lower(User.username) == username.lower())
    )
    if existing_id is not None:
        raise AccountError(
            "username",
            f"账号 {username} 已存在，请换一个账号名。",
            f"The username {username} is already taken.",
        )
    if not display_name or len(display_name) > 100:
        raise AccountError(
            "display_name", "请填写姓名（不超过100个字）。", "The name is missing or too long."
        )
    check_password_strength(password)
    user = User(username=username, display_name=display_name, role=role)
    user.set_password(password)
    return user
