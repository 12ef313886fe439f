"""The engine layer: loading and versioning diagrams, safe expressions, persistence,
timers and concurrent completion."""

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentTransition,
    HumanTask,
    HumanTaskStatus,
    ProcessInstance,
    ProcessModel,
    Trainee,
    Unit,
    User,
    now,
)
from app.review.service import open_task_for, submit_enrollments
from tests.conftest import complete_enrollments, create_reviewer
from workflows.loader import load_process_models
from workflows.runtime import TaskConflict, claim_task, complete_task, start_processes
from workflows.serialization import load_spec, load_state
from workflows.timers import fire_due_timers
from workflows.validation import ProcessModelError

DIAGRAMS = Path(__file__).parent / "bpmn"
REPO_BPMN = Path(__file__).parent.parent / "bpmn"


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def make_enrollment(id_number: str = "350203198805122248", project: str = "电梯") -> Enrollment:
    unit = db.session.scalar(select(Unit).where(Unit.code == "DEMO"))
    trainee = db.session.scalar(select(Trainee).where(Trainee.id_number == id_number))
    if trainee is None:
        trainee = Trainee(
            unit_id=unit.id,
            name="林晓燕",
            id_type="身份证",
            id_number=id_number,
            gender="女",
            phone="13805921234",
            education="本科或同等学力",
        )
    enrollment = Enrollment(
        unit_id=unit.id,
        trainee=trainee,
        position="安全员",
        training_type="特种设备使用单位",
        training_project=project,
        organization="厦门市特种设备协会",
    )
    db.session.add(enrollment)
    db.session.commit()
    complete_enrollments([enrollment])
    return enrollment


def folder_with(tmp_path: Path, *files: Path) -> Path:
    folder = tmp_path / "bpmn"
    folder.mkdir(exist_ok=True)
    for file in files:
        shutil.copy(file, folder / "enrollment_review.bpmn" if file.parent == REPO_BPMN else folder)
    return folder


def test_reload_of_unchanged_file_adds_no_version(app_context):
    assert load_process_models(REPO_BPMN) == []
    versions = db.session.scalar(select(func.count()).select_from(ProcessModel))
    assert versions == 1


def test_changed_file_becomes_new_version(app_context, tmp_path):
    old = submit_and_get_task(make_enrollment())
    folder = tmp_path / "bpmn"
    folder.mkdir()
    shutil.copy(DIAGRAMS / "two_level_review.bpmn", folder / "enrollment_review.bpmn")

    added = load_process_models(folder)

    assert [(model.process_key, model.version) for model in added] == [("enrollment_review", 2)]
    new = submit_and_get_task(make_enrollment(project="锅炉"))
    assert new.title == "初审"
    # The old instance stays on version 1 and finishes there.
    assert old.process_instance.process_model.version == 1
    complete_task(old.id, user("reviewer"), {"decision": "approve", "reason": ""})
    assert db.session.get(Enrollment, old.subject_id).status == EnrollmentStatus.APPROVED


def submit_and_get_task(enrollment: Enrollment) -> HumanTask:
    submit_enrollments([enrollment], user("demo_admin"))
    return open_task_for(enrollment)


def test_extra_user_task_works_without_code(app_context, tmp_path):
    folder = tmp_path / "bpmn"
    folder.mkdir()
    shutil.copy(DIAGRAMS / "two_level_review.bpmn", folder / "enrollment_review.bpmn")
    load_process_models(folder)
    enrollment = make_enrollment()
    reviewer = user("reviewer")

    first = submit_and_get_task(enrollment)
    complete_task(first.id, reviewer, {"decision": "approve", "reason": ""})
    second = open_task_for(enrollment)

    assert second.title == "复审"
    assert second.lane == "协会审核员"
    assert second.form_key == "enrollment_review"
    assert enrollment.status == EnrollmentStatus.PENDING_REVIEW
    complete_task(second.id, reviewer, {"decision": "approve", "reason": ""})
    assert enrollment.status == EnrollmentStatus.APPROVED
    steps = [t.step for t in enrollment.transitions]
    assert steps == ["提交报名", "复审"]


@pytest.mark.parametrize(
    "file_name, element, problem",
    [
        ("script_task.bpmn", "Task_Second (复审)", "script tasks are not allowed"),
        ("dunder_condition.bpmn", "Gateway_First (初审结果)", "attribute access is not allowed"),
        ("unquoted_timer.bpmn", "Wait (等待48小时)", '"PT48H"'),
        ("unknown_lane.bpmn", "Task_First (初审)", "财务审核员"),
    ],
)
def test_unsafe_diagram_is_rejected(app_context, tmp_path, file_name, element, problem):
    folder = tmp_path / "bpmn"
    folder.mkdir()
    shutil.copy(DIAGRAMS / file_name, folder / file_name)

    with pytest.raises(ProcessModelError) as raised:
        load_process_models(folder)

    message = str(raised.value)
    assert message.startswith(f"{file_name}: 元素 {element}")
    assert problem in message
    assert db.session.scalar(select(func.count()).select_from(ProcessModel)) == 1


def test_instance_row_holds_no_spec(app_context):
    enrollment = make_enrollment()
    task = submit_and_get_task(enrollment)
    state = json.loads(task.process_instance.state_json)
    assert "spec" not in state
    assert "subprocess_specs" not in state
    assert "task_specs" not in task.process_instance.state_json
    model = task.process_instance.process_model
    assert "Task_Review" in json.loads(model.spec_json)["spec"]["task_specs"]


def test_instance_keeps_dates_in_task_data(app_context):
    enrollment = make_enrollment()
    task = submit_and_get_task(enrollment)
    moment = datetime(2026, 12, 4, 9, 30)
    complete_task(
        task.id, user("reviewer"), {"decision": "reject", "reason": "缺照片", "at": moment}
    )
    instance = db.session.get(ProcessInstance, task.process_instance_id)
    spec, subprocess_specs = load_spec(instance.process_model.id, instance.process_model.spec_json)
    workflow = load_state(instance.state_json, spec, subprocess_specs)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert ready[0].data["at"] == moment


def test_timer_fires_only_when_due(app_context, tmp_path):
    folder = tmp_path / "bpmn"
    folder.mkdir()
    shutil.copy(DIAGRAMS / "timer_then_review.bpmn", folder)
    load_process_models(folder)
    enrollment = make_enrollment()
    [instance_id] = start_processes("timer_then_review", "enrollment", [enrollment], None)
    db.session.commit()
    instance = db.session.get(ProcessInstance, instance_id)
    hours_left = (instance.timer_due_at - now()).total_seconds() / 3600
    assert 47.9 < hours_left <= 48
    assert fire_due_timers() == 0
    assert open_task_for_instance(instance) is None

    move_timer_into_past(instance)
    assert fire_due_timers() == 1
    assert open_task_for_instance(instance).title == "报名审核"
    assert fire_due_timers() == 0


def open_task_for_instance(instance):
    return db.session.scalar(
        select(HumanTask).where(
            HumanTask.process_instance_id == instance.id, HumanTask.status == HumanTaskStatus.OPEN
        )
    )


def move_timer_into_past(instance: ProcessInstance) -> None:
    """Spiff has no clock to inject: rewrite the waiting timer's due time in the stored state."""
    state = json.loads(instance.state_json)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for task in state["tasks"].values():
        if "event_value" in task.get("internal_data", {}):
            task["internal_data"]["event_value"] = past
    instance.state_json = json.dumps(state)
    instance.timer_due_at = datetime(2000, 1, 1)
    db.session.commit()


def test_completing_twice_is_rejected(app_context):
    enrollment = make_enrollment()
    task = submit_and_get_task(enrollment)
    reviewer = user("reviewer")
    complete_task(task.id, reviewer, {"decision": "approve", "reason": ""})

    with pytest.raises(TaskConflict) as raised:
        complete_task(task.id, reviewer, {"decision": "reject", "reason": "x"})

    assert raised.value.message.startswith("该任务已由 张审核 于 ")
    assert enrollment.status == EnrollmentStatus.APPROVED
    approvals = db.session.scalar(
        select(func.count())
        .select_from(EnrollmentTransition)
        .where(EnrollmentTransition.to_status == EnrollmentStatus.APPROVED)
    )
    assert approvals == 1


def test_claimed_task_cannot_be_completed_by_colleague(app_context):
    colleague = create_reviewer("reviewer2")
    enrollment = make_enrollment()
    task = submit_and_get_task(enrollment)
    claim_task(task.id, user("reviewer"))

    with pytest.raises(TaskConflict) as raised:
        complete_task(task.id, colleague, {"decision": "approve", "reason": ""})

    assert raised.value.message == "该任务已被 张审核 认领，请先联系对方释放。"
    assert enrollment.status == EnrollmentStatus.PENDING_REVIEW


def test_concurrent_completion_applies_once(app):
    """Two threads, each with its own database session, complete the same task at once."""
    with app.app_context():
        create_reviewer("reviewer2")
        enrollment_id = make_enrollment().id
        task_id = submit_and_get_task(db.session.get(Enrollment, enrollment_id)).id

    barrier = threading.Barrier(2)
    outcomes = []

    def complete_as(username: str, decision: str):
        with app.app_context():
            actor = user(username)
            barrier.wait()
            try:
                complete_task(task_id, actor, {"decision": decision, "reason": "并发测试"})
                outcomes.append(("ok", username))
            except TaskConflict as conflict:
                outcomes.append(("conflict", conflict.message))
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=complete_as, args=("reviewer", "approve")),
        threading.Thread(target=complete_as, args=("reviewer2", "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["conflict", "ok"]
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        winner = next(name for kind, name in outcomes if kind == "ok")
        expected = EnrollmentStatus.APPROVED if winner == "reviewer" else EnrollmentStatus.REJECTED
        assert enrollment.status == expected
        decisions = [t for t in enrollment.transitions if t.from_status == "pending_review"]
        assert len(decisions) == 1
        completed = db.session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.status == HumanTaskStatus.COMPLETED)
        )
        assert completed == 1
