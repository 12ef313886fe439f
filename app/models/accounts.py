"""Units, user accounts, roles and the groups that BPMN lanes map to."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.clock import now


class Role:
    STAFF = "staff"  # association staff (reviewers)
    UNIT_ADMIN = "unit_admin"  # 用人单位 administrator, belongs to one unit
    PROCESS_OWNER = "process_owner"
    TRAINEE = "trainee"  # 学员: logs in with the ID number, sees only their own enrollments

    LABELS = {STAFF: "协会", UNIT_ADMIN: "用人单位", PROCESS_OWNER: "流程管理员", TRAINEE: "学员"}


class GroupKind:
    STAFF = "staff"  # members are association staff accounts
    UNIT = "unit"  # stands for the unit admins of the enrollment's own unit


user_groups = Table(
    "user_groups",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=now)

    admins: Mapped[list["User"]] = relationship(back_populates="unit")


class Group(db.Model):
    """A set of users that one BPMN lane is assigned to; the lane name is the group name."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=GroupKind.STAFF)

    members: Mapped[list["User"]] = relationship(secondary=user_groups, back_populates="groups")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Set for role trainee only: the person this account belongs to.
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainees.id"), unique=True)
    # A trainee account starts without a usable password. The unit admin issues a one-time
    # activation code (stored hashed, shown once), and the trainee sets a password with it.
    activation_code_hash: Mapped[str | None] = mapped_column(String(256))
    activation_expires_at: Mapped[datetime | None] = mapped_column()
    activated_at: Mapped[datetime | None] = mapped_column()
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Consecutive wrong passwords, and the end of the lock they cause (see auth.throttle).
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=now)

    unit: Mapped[Unit | None] = relationship(back_populates="admins")
    groups: Mapped[list[Group]] = relationship(secondary=user_groups, back_populates="members")

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.PROCESS_OWNER)

    @property
    def is_unit_admin(self) -> bool:
        return self.role == Role.UNIT_ADMIN

    @property
    def is_trainee(self) -> bool:
        return self.role == Role.TRAINEE

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        # An account that has not been activated has no password hash to compare with.
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)
