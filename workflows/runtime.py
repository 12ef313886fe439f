"""Running process instances: start, complete user tasks, claim and release them.

Every operation changes workflow state, the human task table and the subject's status in
one database transaction. Two guards stop a task from being completed twice by concurrent
web workers: a conditional UPDATE of the human task row (only an open task that nobody
else holds), and an optimistic lock on the instance row (lock_version).
"""

import logging
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import (
    Group,
    GroupKind,
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessInstance,
    TaskComment,
    User,
    now,
)
from workflows.loader import latest_model
from workflows.serialization import dump_state, load_spec, load_state, new_workflow
from workflows.subjects import StatusChange, adapter_for

log = logging.getLogger(__name__)


class TaskError(Exception):
    """A user task operation that cannot be done; ``message`` is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TaskConflict(TaskError):
    """The task was completed, claimed or changed by someone else in the meantime."""


class TaskForbidden(TaskError):
    """The user may not see or act on this task."""


# --- Reading workflow state ----------------------------------------------------------------


def _properties(task_spec) -> dict:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {})


def _ready_user_tasks(workflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def declared_status(workflow, ready_tasks=None) -> str | None:
    """Return the subject status that the diagram declares for the workflow's position.

    While running, it is the ``subject_status`` of an open user task; once complete, that of
    the end event reached last.
    """
    if workflow.is_completed():
        ends = [
            task
            for task in workflow.get_tasks(state=TaskState.COMPLETED)
            if isinstance(task.task_spec, EndEvent)
            and _properties(task.task_spec).get("subject_status")
        ]
        if ends:
            last = max(ends, key=lambda task: task.last_state_change)
            return _properties(last.task_spec)["subject_status"]
        return None
    if ready_tasks is None:
        ready_tasks = _ready_user_tasks(workflow)
    for task in ready_tasks:
        status = _properties(task.task_spec).get("subject_status")
        if status:
            return status
    return None


_TIMER_SPECS: dict[int, bool] = {}


def _has_timers(spec) -> bool:
    key = id(spec)
    if key not in _TIMER_SPECS:
        _TIMER_SPECS[key] = any(
            isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
            for task_spec in spec.task_specs.values()
        )
    return _TIMER_SPECS[key]


def _timer_due_at(workflow) -> datetime | None:
    """Earliest waiting timer as naive China time, the way the database stores times."""
    from app.models.clock import LOCAL_ZONE

    if not _has_timers(workflow.spec):
        return None  # waiting_events() walks the whole task tree
    due = []
    for event in workflow.waiting_events():
        if event.event_type.endswith("TimerEventDefinition") and event.value:
            moment = datetime.fromisoformat(str(event.value))
            if moment.tzinfo is not None:
                moment = moment.astimezone(LOCAL_ZONE).replace(tzinfo=None)
            due.append(moment)
    return min(due) if due else None


# --- Starting ------------------------------------------------------------------------------


def start_processes(process_key: str, subject_type: str, subjects: list, actor: User | None):
    """Start one instance of the newest version of a process per subject; caller commits.

    Rows are written with one multi-row INSERT per table, since submitting a thousand
    enrollments at once is an ordinary unit admin action.
    """
    if not subjects:
        return []
    model = latest_model(process_key)
    spec, subprocess_specs = load_spec(model.id, model.spec_json)
    adapter = adapter_for(subject_type)

    workflows = []
    rows = []
    for subject in subjects:
        workflow = new_workflow(spec, subprocess_specs)
        workflow.task_tree.data.update(adapter.initial_data(subject))  # the Start task
        workflow.do_engine_steps()
        completed = workflow.is_completed()
        workflows.append(workflow)
        rows.append(
            {
                "process_model_id": model.id,
                "subject_type": subject_type,
                "subject_id": subject.id,
                "unit_id": adapter.unit_id(subject),
                "status": InstanceStatus.COMPLETED if completed else InstanceStatus.RUNNING,
                "state_json": dump_state(workflow),
                "timer_due_at": _timer_due_at(workflow),
                "lock_version": 0,
                "created_at": now(),
                "updated_at": now(),
                "completed_at": now() if completed else None,
            }
        )
    # Core inserts: the ORM's bulk path costs more than the database round trip here.
    table = ProcessInstance.__table__
    instance_ids = (
        db.session.connection()
        .execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
        .scalars()
        .all()
    )

    groups = _group_ids()
    task_rows = []
    changes = []
    for subject, workflow, instance_id, row in zip(subjects, workflows, instance_ids, rows):
        ready = _ready_user_tasks(workflow)
        task_rows.extend(_new_task_rows(instance_id, row, ready, adapter.title(subject), groups))
        status = declared_status(workflow, ready)
        if status:
            changes.append(StatusChange(subject, status, actor, _start_step(workflow), None))
        log.debug("started process instance %s for %s %s", instance_id, subject_type, subject.id)
    if task_rows:
        db.session.connection().execute(HumanTask.__table__.insert(), task_rows)
    adapter.apply_statuses(changes)
    # One INFO line per batch, so that submitting a thousand enrollments adds one log line.
    log.info(
        "started %d process instance(s) of %s v%d, ids %s..%s",
        len(instance_ids),
        process_key,
        model.version,
        instance_ids[0],
        instance_ids[-1],
    )
    return instance_ids


def _start_step(workflow) -> str:
    start = workflow.spec.start.outputs[0] if workflow.spec.start.outputs else None
    return getattr(start, "bpmn_name", None) or "提交"


def _instance_status(workflow) -> str:
    return InstanceStatus.COMPLETED if workflow.is_completed() else InstanceStatus.RUNNING


# --- Human task table ----------------------------------------------------------------------


def _group_ids() -> dict[str, int]:
    return dict(db.session.execute(select(Group.name, Group.id)).all())


def _new_task_rows(instance_id, instance_row, ready_tasks, subject_title, groups) -> list[dict]:
    rows = []
    for task in ready_tasks:
        spec = task.task_spec
        rows.append(
            {
                "process_instance_id": instance_id,
                "task_uuid": str(task.id),
                "task_spec_name": spec.name,
                "title": spec.bpmn_name or spec.name,
                "lane": spec.lane or "",
                "group_id": groups.get(spec.lane),
                "form_key": _properties(spec).get("form", ""),
                "subject_type": instance_row["subject_type"],
                "subject_id": instance_row["subject_id"],
                "subject_title": subject_title,
                "unit_id": instance_row["unit_id"],
                "status": HumanTaskStatus.OPEN,
                "created_at": now(),
            }
        )
    return rows


def _sync_human_tasks(instance, workflow, subject, adapter, groups, open_rows) -> None:
    """Mirror READY user tasks into human_tasks; close rows whose task is no longer ready."""
    ready = _ready_user_tasks(workflow)
    ready_ids = {str(task.id) for task in ready}
    for row in open_rows:
        if row.task_uuid not in ready_ids:
            row.status = HumanTaskStatus.CANCELLED
    known = {row.task_uuid for row in open_rows}
    fresh = [task for task in ready if str(task.id) not in known]
    instance_row = {
        "subject_type": instance.subject_type,
        "subject_id": instance.subject_id,
        "unit_id": instance.unit_id,
    }
    rows = _new_task_rows(instance.id, instance_row, fresh, adapter.title(subject), groups)
    if rows:
        db.session.connection().execute(HumanTask.__table__.insert(), rows)


# --- Visibility ----------------------------------------------------------------------------


def can_view(task: HumanTask, user: User) -> bool:
    """Staff see tasks of their groups' lanes; unit admins see unit-lane tasks of their unit."""
    if task.group is None:
        return False
    if task.group.kind == GroupKind.UNIT:
        return user.is_unit_admin and task.unit_id is not None and task.unit_id == user.unit_id
    return user.is_staff and any(group.id == task.group_id for group in user.groups)


def get_visible_task(task_id: int, user: User) -> HumanTask:
    """Return the task, or raise TaskForbidden for a missing task and another's task alike."""
    task = db.session.get(HumanTask, task_id)
    if task is None or not can_view(task, user):
        raise TaskForbidden("任务不存在，或您没有处理该任务的权限。")
    return task


def _conflict_message(task: HumanTask, user: User) -> str:
    db.session.refresh(task)
    if task.status == HumanTaskStatus.COMPLETED:
        who = task.completed_by.display_name if task.completed_by else "其他人"
        when = task.completed_at.strftime("%Y-%m-%d %H:%M:%S") if task.completed_at else ""
        return f"该任务已由 {who} 于 {when} 处理，无需重复操作。"
    if task.status == HumanTaskStatus.CANCELLED:
        return "该任务已结束（流程已变化），请返回列表刷新。"
    if task.claimed_by_id and task.claimed_by_id != user.id:
        return f"该任务已被 {task.claimed_by.display_name} 认领，请先联系对方释放。"
    return "任务状态已变化，请刷新页面后重试。"


# --- Claim, release, reassign --------------------------------------------------------------


def _conditional_update(task: HumanTask, user: User, where, values: dict) -> None:
    """Apply an UPDATE to one open task row if `where` still holds; else raise TaskConflict."""
    try:
        result = db.session.execute(
            update(HumanTask)
            .where(HumanTask.id == task.id, HumanTask.status == HumanTaskStatus.OPEN, *where)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    except OperationalError as error:
        # SQLite reports a writer that waited past busy_timeout as "database is locked".
        db.session.rollback()
        log.warning("human task %s update failed: %s", task.id, error)
        raise TaskConflict("系统繁忙，任务状态未能更新，请稍后重试。") from error
    if result.rowcount != 1:
        db.session.rollback()
        raise TaskConflict(_conflict_message(task, user))


def claim_task(task_id: int, user: User) -> HumanTask:
    task = get_visible_task(task_id, user)
    _conditional_update(
        task,
        user,
        [HumanTask.claimed_by_id.is_(None)],
        {"claimed_by_id": user.id, "claimed_at": now()},
    )
    db.session.commit()
    db.session.refresh(task)
    log.info("human task %s claimed by user %s", task.id, user.id)
    return task


def release_task(task_id: int, user: User) -> HumanTask:
    task = get_visible_task(task_id, user)
    if task.claimed_by_id != user.id:
        raise TaskConflict("只能释放自己认领的任务。")
    _conditional_update(
        task,
        user,
        [HumanTask.claimed_by_id == user.id],
        {"claimed_by_id": None, "claimed_at": None},
    )
    db.session.commit()
    db.session.refresh(task)
    log.info("human task %s released by user %s", task.id, user.id)
    return task


def reassign_task(task_id: int, user: User, assignee: User) -> HumanTask:
    """Hand a task that is unclaimed or held by `user` to another member of its group."""
    task = get_visible_task(task_id, user)
    if assignee is None or not can_view(task, assignee):
        raise TaskForbidden("只能转办给同一用户组的同事。")
    _conditional_update(
        task,
        user,
        [or_(HumanTask.claimed_by_id.is_(None), HumanTask.claimed_by_id == user.id)],
        {"claimed_by_id": assignee.id, "claimed_at": now()},
    )
    db.session.commit()
    db.session.refresh(task)
    log.info("human task %s reassigned by user %s to user %s", task.id, user.id, assignee.id)
    return task


def add_comment(task_id: int, user: User, body: str) -> TaskComment:
    task = get_visible_task(task_id, user)
    comment = TaskComment(
        process_instance_id=task.process_instance_id,
        human_task_id=task.id,
        author_id=user.id,
        body=body.strip(),
    )
    db.session.add(comment)
    db.session.commit()
    return comment


# --- Completing ----------------------------------------------------------------------------


def complete_task(task_id: int, user: User, data: dict) -> HumanTask:
    """Complete a user task with form data and run the process on, all in one transaction."""
    task = get_visible_task(task_id, user)
    finished_at = now()
    _conditional_update(
        task,
        user,
        [or_(HumanTask.claimed_by_id.is_(None), HumanTask.claimed_by_id == user.id)],
        {
            "status": HumanTaskStatus.COMPLETED,
            "completed_by_id": user.id,
            "completed_at": finished_at,
            "claimed_by_id": user.id,
        },
    )
    instance = db.session.get(ProcessInstance, task.process_instance_id)
    read_version = instance.lock_version
    model = instance.process_model
    spec, subprocess_specs = load_spec(model.id, model.spec_json)
    workflow = load_state(instance.state_json, spec, subprocess_specs)

    spiff_task = workflow.get_task_from_id(UUID(task.task_uuid))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        db.session.rollback()
        raise TaskConflict("该任务已不在待办状态，请刷新页面。")
    spiff_task.data.update(data)
    spiff_task.run()
    workflow.do_engine_steps()

    _save_instance(instance, workflow, read_version)
    adapter = adapter_for(instance.subject_type)
    subject = adapter.load(instance.subject_id)
    open_rows = _open_rows(instance.id)
    _sync_human_tasks(instance, workflow, subject, adapter, _group_ids(), open_rows)
    status = declared_status(workflow)
    if status:
        reason = data.get("reason") or data.get("note") or None
        adapter.apply_statuses([StatusChange(subject, status, user, task.title, reason)])
    db.session.commit()
    db.session.expire(task)
    log.info(
        "human task %s (%s) completed by user %s; instance %s is %s",
        task.id,
        task.task_spec_name,
        user.id,
        instance.id,
        instance.status,
    )
    return task


def _open_rows(instance_id: int) -> list[HumanTask]:
    return list(
        db.session.scalars(
            select(HumanTask).where(
                HumanTask.process_instance_id == instance_id,
                HumanTask.status == HumanTaskStatus.OPEN,
            )
        )
    )


def _save_instance(instance: ProcessInstance, workflow, read_version: int) -> None:
    """Write the new state only if nobody saved the instance since we read it."""
    completed = workflow.is_completed()
    result = db.session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id, ProcessInstance.lock_version == read_version)
        .values(
            state_json=dump_state(workflow),
            status=_instance_status(workflow),
            timer_due_at=_timer_due_at(workflow),
            lock_version=read_version + 1,
            updated_at=now(),
            completed_at=now() if completed else None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise TaskConflict("流程已被其他操作更新，请刷新页面后重试。")
    db.session.refresh(instance)


# --- Timers --------------------------------------------------------------------------------


def advance_instance(instance: ProcessInstance) -> bool:
    """Fire due timers of one instance and run it on; return False if another process won."""
    read_version = instance.lock_version
    model = instance.process_model
    spec, subprocess_specs = load_spec(model.id, model.spec_json)
    workflow = load_state(instance.state_json, spec, subprocess_specs)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    try:
        _save_instance(instance, workflow, read_version)
    except TaskConflict:
        return False
    adapter = adapter_for(instance.subject_type)
    subject = adapter.load(instance.subject_id)
    _sync_human_tasks(instance, workflow, subject, adapter, _group_ids(), _open_rows(instance.id))
    status = declared_status(workflow)
    if status:
        adapter.apply_statuses([StatusChange(subject, status, None, "定时器", None)])
    db.session.commit()
    return True
