"""Trainee (学员) accounts: activation codes issued by the unit admin, activation, log-in.

A trainee logs in with their ID number. The account is a ``User`` with role trainee linked to
one ``Trainee`` row; its username is internal. The unit admin issues a one-time activation
code, shown once and stored only as a hash, that expires after ACTIVATION_CODE_HOURS. The
trainee sets a password with it. Issuing a new code to an activated account is how a
forgotten password is reset; the old password keeps working until the new code is used.
"""

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.throttle import lock_message, record_failure, record_success
from app.extensions import db
from app.models import Role, Trainee, User, now

log = logging.getLogger(__name__)

# No 0/O, 1/I/L: the code is read off a screen or a slip of paper and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PASSWORD_MIN_LENGTH = 8


class ActivationError(ValueError):
    """Activation was not possible; ``message`` is Chinese text for the trainee."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IssuedCode:
    code: str  # grouped for reading, e.g. "K7QM-3XPA"
    expires_at: datetime
    account: User


def account_for(trainee: Trainee) -> User | None:
    return db.session.scalar(select(User).where(User.trainee_id == trainee.id))


def account_state(account: User | None) -> str:
    """Return the 账号状态 label of a trainee account."""
    if account is None:
        return "未开通"
    if account.activated_at is not None:
        return "已激活"
    if account.activation_expires_at is not None and account.activation_expires_at > now():
        return "待激活"
    return "激活码已过期"


def issue_activation_code(trainee: Trainee, actor: User) -> IssuedCode:
    """Create the trainee's account if needed and give it a new activation code.

    Any earlier unused code stops working.
    """
    account = account_for(trainee)
    if account is None:
        account = User(
            username=f"trainee-{trainee.id}",
            display_name=trainee.name,
            password_hash="",
            role=Role.TRAINEE,
            unit_id=trainee.unit_id,
            trainee_id=trainee.id,
        )
        db.session.add(account)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    hours = current_app.config["ACTIVATION_CODE_HOURS"]
    account.activation_code_hash = generate_password_hash(code)
    account.activation_expires_at = now() + timedelta(hours=hours)
    account.display_name = trainee.name
    db.session.commit()
    log.info("activation code issued for trainee %s by user %s", trainee.id, actor.id)
    return IssuedCode(f"{code[:4]}-{code[4:]}", account.activation_expires_at, account)


def normalize_id_number(value: str) -> str:
    # Full-width digits and Ｘ typed with a Chinese input method match the stored ASCII.
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", value or "")).upper()


def normalize_code(value: str) -> str:
    return re.sub(r"[\s\-—]", "", unicodedata.normalize("NFKC", value or "")).upper()


def trainee_accounts(id_number: str) -> list[User]:
    """Return the trainee accounts of a person, one per unit that imported them."""
    return list(
        db.session.scalars(
            select(User)
            .join(Trainee, Trainee.id == User.trainee_id)
            .where(User.role == Role.TRAINEE, Trainee.id_number == normalize_id_number(id_number))
            .order_by(User.id)
        )
    )


def activate(id_number: str, code: str, password: str) -> User:
    """Set the password of the account whose activation code matches; return that account.

    Raises ActivationError. A wrong code counts as a failed log-in, so guessing codes locks
    the account like guessing passwords does.
    """
    check_password_rules(password, id_number)
    typed = normalize_code(code)
    accounts = [a for a in trainee_accounts(id_number) if a.activation_code_hash]
    for account in accounts:
        locked = lock_message(account)
        if locked:
            raise ActivationError(locked)
    for account in accounts:
        if not check_password_hash(account.activation_code_hash, typed):
            continue
        if account.activation_expires_at is None or account.activation_expires_at <= now():
            raise ActivationError("激活码已过期，请联系单位管理员重新生成激活码。")
        account.set_password(password)
        account.activation_code_hash = None
        account.activation_expires_at = None
        account.activated_at = account.activated_at or now()
        db.session.commit()
        record_success(account)
        log.info("trainee account %s activated", account.id)
        return account
    for account in accounts:
        record_failure(account)
    raise ActivationError("证件号或激活码不正确，请核对后重新输入（激活码不区分大小写）。")


def check_password_rules(password: str, id_number: str) -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ActivationError(f"密码至少 {PASSWORD_MIN_LENGTH} 位，请重新设置。")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise ActivationError("密码须同时包含字母和数字，请重新设置。")
    number = normalize_id_number(id_number)
    if number and (number in password.upper() or password.upper() == number[-8:]):
        raise ActivationError("密码不能包含证件号，请换一个不易被猜到的密码。")


def authenticate(id_number: str, password: str) -> tuple[User | None, str | None]:
    """Check a trainee log-in; return (account, None) or (None, Chinese error message)."""
    accounts = trainee_accounts(id_number)
    active = [a for a in accounts if a.activated_at is not None]
    for account in active:
        locked = lock_message(account)
        if locked:
            return None, locked
    for account in active:
        if account.check_password(password):
            if not account.is_active:
                return None, "该账号已停用，请联系单位管理员。"
            record_success(account)
            return account, None
    for account in active:
        record_failure(account)
    # The same answer for an unknown ID number and an account not yet activated, so the
    # page does not tell who has an account.
    return (
        None,
        "证件号或密码错误，请重新输入。首次登录请先点击“学员激活”，用单位管理员提供的激活码设置密码。",
    )
