"""Trainees, import batches and jobs, enrollments and their status history."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Unit, User
from app.models.clock import now


class EnrollmentStatus:
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    LABELS = {
        DRAFT: "待提交",
        PENDING_REVIEW: "待审核",
        APPROVED: "审核通过",
        REJECTED: "审核不通过",
        WITHDRAWN: "已撤回",
    }


class Trainee(db.Model):
    """A person of one unit, identified by ID type and number, shared by their enrollments."""

    __tablename__ = "trainees"
    __table_args__ = (UniqueConstraint("unit_id", "id_type", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str] = mapped_column(String(32))
    gender: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(20))
    education: Mapped[str] = mapped_column(String(32))  # 最高学历
    degree: Mapped[str] = mapped_column(String(32), default="")  # 学历 (optional)
    created_at: Mapped[datetime] = mapped_column(default=now)

    unit: Mapped[Unit] = relationship()


class ImportBatch(db.Model):
    """One confirmed import (导入批次), numbered by date and a daily sequence: 20231010001."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    row_count: Mapped[int] = mapped_column(default=0)
    imported_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)


class ImportJob(db.Model):
    """An uploaded workbook on its way through validation, preview and confirmation."""

    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex token
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    position: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    # validating -> validated -> importing -> imported; or failed at any step
    status: Mapped[str] = mapped_column(String(16), default="validating")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    report_json: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)


class Enrollment(db.Model):
    """One trainee in one training project (one row of the import workbook)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        # A person may hold one live enrollment per project in a unit; withdrawn ones free it.
        Index(
            "uq_enrollments_live_project",
            "unit_id",
            "trainee_id",
            "training_project",
            unique=True,
            sqlite_where=text("status != 'withdrawn'"),
            postgresql_where=text("status != 'withdrawn'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    position: Mapped[str] = mapped_column(String(32))  # 管理岗位
    training_type: Mapped[str] = mapped_column(String(64))
    training_project: Mapped[str] = mapped_column(String(64))
    holds_certificate: Mapped[bool] = mapped_column(default=False)
    organization: Mapped[str] = mapped_column(String(100))  # 所属培训机构
    status: Mapped[str] = mapped_column(String(20), default=EnrollmentStatus.DRAFT, index=True)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    process_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    # 单位信息 of the four-step form, as the application form prints them. Empty means the
    # unit's own defaults apply (see app.completion.steps).
    unit_address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    unit_contact_name: Mapped[str] = mapped_column(String(50), default="", server_default="")
    unit_contact_phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    # When and by whom the commitment (本人承诺……) was ticked; required to submit.
    committed_at: Mapped[datetime | None] = mapped_column()
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Personal and unit data as they were when the enrollment was last submitted, as JSON.
    # Pages and the application form show these while the enrollment cannot be edited, so a
    # later change to the shared trainee record does not alter what was reviewed.
    submitted_snapshot: Mapped[str | None] = mapped_column(Text)
    # Values typed into a step that did not pass its checks, kept as JSON by step number so
    # that moving between steps loses nothing.
    form_draft: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    # Fee of an approved enrollment (see app.models.payment.PaymentStatus). While an unpaid
    # order contains the enrollment, pending_order_id names it. Conditional updates set and
    # clear it, so an enrollment is in at most one unpaid order.
    payment_status: Mapped[str] = mapped_column(
        String(16), default="unpaid", server_default="unpaid", index=True
    )
    pending_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    paid_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    paid_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship()
    trainee: Mapped[Trainee] = relationship()
    batch: Mapped[ImportBatch | None] = relationship()
    transitions: Mapped[list["EnrollmentTransition"]] = relationship(
        back_populates="enrollment", order_by="EnrollmentTransition.id"
    )

    @property
    def status_label(self) -> str:
        return EnrollmentStatus.LABELS.get(self.status, self.status)


class EnrollmentTransition(db.Model):
    """One status change of an enrollment: who, when, from, to and why."""

    __tablename__ = "enrollment_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=now)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    step: Mapped[str] = mapped_column(String(100), default="")  # user task or action label
    reason: Mapped[str | None] = mapped_column(Text)

    enrollment: Mapped[Enrollment] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()
