"""Process model versions, process instances and the open user task table."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Group, User
from app.models.clock import now


class ProcessModel(db.Model):
    """One version of one BPMN process; a changed diagram file becomes a new version."""

    __tablename__ = "process_models"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        UniqueConstraint("process_key", "source_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)  # BPMN process id
    name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column()
    file_name: Mapped[str] = mapped_column(String(255))
    source_sha256: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # The parsed spec, serialised once per version; instances do not repeat it.
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class InstanceStatus:
    RUNNING = "running"
    COMPLETED = "completed"
    ERROR = "error"


class ProcessInstance(db.Model):
    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_process_instances_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_model_id: Mapped[int] = mapped_column(ForeignKey("process_models.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))  # "enrollment", "order", ...
    subject_id: Mapped[int] = mapped_column()
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=InstanceStatus.RUNNING, index=True)
    # Workflow state without the spec (see workflows.serialization).
    state_json: Mapped[str] = mapped_column(Text)
    # Earliest due time of a waiting BPMN timer event, so the scheduler finds due instances
    # without deserialising every workflow.
    timer_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Optimistic lock: every save is UPDATE ... WHERE lock_version = the version read.
    lock_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    completed_at: Mapped[datetime | None] = mapped_column()

    process_model: Mapped[ProcessModel] = relationship()


class HumanTaskStatus:
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class HumanTask(db.Model):
    """A user task that is or was ready, mirrored from the workflow for inbox queries."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_open_group", "status", "group_id", "claimed_by_id"),
        Index("ix_human_tasks_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    task_spec_name: Mapped[str] = mapped_column(String(100))  # BPMN element id
    title: Mapped[str] = mapped_column(String(200))  # BPMN element name
    lane: Mapped[str] = mapped_column(String(100), default="")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    form_key: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column()
    subject_title: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=HumanTaskStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column()
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None] = mapped_column()

    process_instance: Mapped[ProcessInstance] = relationship()
    group: Mapped[Group | None] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class TaskComment(db.Model):
    """A comment between staff on a process instance, shown on its task page."""

    __tablename__ = "task_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)

    author: Mapped[User] = relationship()
