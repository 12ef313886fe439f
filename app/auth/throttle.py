"""Locking an account after repeated wrong passwords, against password guessing."""

import logging
from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.models import User, now

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


def lock_message(user: User) -> str | None:
    """Return why the account may not log in now, or None."""
    if user.locked_until is not None and user.locked_until > now():
        until = user.locked_until.strftime("%H:%M")
        if user.is_trainee:
            return (
                f"密码或激活码连续输错 {MAX_FAILED_LOGINS} 次，账号已锁定至 {until}，请稍后再试；"
                "忘记密码请联系本单位管理员重新生成激活码。"
            )
        return (
            f"密码连续输错 {MAX_FAILED_LOGINS} 次，账号已锁定至 {until}，"
            "请稍后再试；忘记密码请联系厦门市特种设备协会工作人员重置。"
        )
    return None


def record_failure(user: User) -> None:
    """Count a wrong password atomically; the fifth in a row locks the account."""
    db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
    )
    db.session.commit()
    db.session.refresh(user)
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now() + timedelta(minutes=LOCK_MINUTES)
        user.failed_logins = 0
        db.session.commit()
        log.warning("user %s locked for %d minutes after failed log-ins", user.id, LOCK_MINUTES)


def record_success(user: User) -> None:
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
        db.session.commit()
