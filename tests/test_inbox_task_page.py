"""The task page: what it shows, completing review and correction tasks through their forms,
conflicts between two reviewers, and who gets 404."""

import re
import shutil
import threading
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentTransition,
    HumanTask,
    HumanTaskStatus,
)
from tests.conftest import create_unit_with_admin, extract_csrf
from tests.test_inbox_lists import (
    add_colleague,
    add_outsider,
    flashes,
    inbox,
    listed_names,
    login_reviewer,
    login_unit_admin,
    submit_new,
    table_records,
    table_rows,
    user_named,
)
from workflows.loader import load_process_models
from workflows.runtime import claim_task, complete_task

LIN_ID = "350203198805122248"
REJECT_REASON = "身份证复印件不清晰，请重新上传后提交"


def open_page(client, task_id: int) -> str:
    response = client.get(f"/inbox/tasks/{task_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_form(client, task_id: int, **fields):
    token = extract_csrf(client.get(f"/inbox/tasks/{task_id}").get_data(as_text=True))
    return client.post(f"/inbox/tasks/{task_id}", data={"csrf_token": token, **fields})


def enrollment_of(task_id: int) -> Enrollment:
    task = db.session.get(HumanTask, task_id)
    return db.session.get(Enrollment, task.subject_id)


def transitions_of(task_id: int) -> list[tuple]:
    enrollment = enrollment_of(task_id)
    return [
        (t.actor.display_name if t.actor else None, t.step, t.from_status, t.to_status, t.reason)
        for t in enrollment.transitions
    ]


def open_tasks_of(enrollment_id: int) -> list[tuple[str, str]]:
    tasks = db.session.scalars(
        select(HumanTask)
        .where(
            HumanTask.subject_id == enrollment_id,
            HumanTask.status == HumanTaskStatus.OPEN,
        )
        .order_by(HumanTask.id)
    )
    return [(task.title, task.form_key) for task in tasks]


def reject(task_id: int, reason: str = REJECT_REASON) -> int:
    """Reject as 张审核 and return the id of the unit's correction task."""
    complete_task(task_id, user_named("reviewer"), {"decision": "reject", "reason": reason})
    enrollment = enrollment_of(task_id)
    return db.session.scalar(
        select(HumanTask.id).where(
            HumanTask.subject_id == enrollment.id,
            HumanTask.status == HumanTaskStatus.OPEN,
        )
    )


# --- What the page shows -------------------------------------------------------------------


def test_review_page_shows_enrollment(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    page = open_page(client, task_id)

    for text in (
        "报名审核",
        "林晓燕 电梯",
        "任务状态：待办",
        "未认领",
        "身份证",
        LIN_ID,
        "13805921234",
        "本科或同等学力",
        "厦门示范机电设备有限公司",
        "91350200MA2XN8QK7N",
        "安全员",
        "特种设备使用单位",
        "待审核",
        "提交审核结果",
        "审核意见交流",
    ):
        assert text in page, text
    history = table_rows(page, "transitions")
    assert len(history) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", history[0][0])
    assert history[0][1:] == ["李明", "提交报名", "待提交", "待审核", ""]
    assert 'name="decision"' in page
    assert 'value="approve"' in page
    assert 'value="reject"' in page


def test_claimed_page_offers_release(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        add_colleague("reviewer2", "李审核")
    login_reviewer(client)
    token = extract_csrf(open_page(client, task_id))
    client.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": token})

    page = open_page(client, task_id)

    assert "认领人：张审核" in page
    assert ">释放</button>" in page
    assert ">认领</button>" not in page
    assert ">李审核</option>" in page


def test_page_held_by_colleague_hides_form(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        colleague = add_colleague("reviewer2", "李审核")
        claim_task(task_id, colleague)
    login_reviewer(client)

    page = open_page(client, task_id)

    assert "认领人：李审核" in page
    assert "该任务已被 李审核 认领，需对方释放或转办给您后才能办理。" in page
    assert 'name="decision"' not in page
    assert ">释放</button>" not in page


# --- Review decisions ----------------------------------------------------------------------


def test_approve_via_form(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = post_form(client, task_id, decision="approve", reason="")

    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox/"
    page = inbox(client)
    assert "已处理：报名审核 · 林晓燕 电梯，审核通过。" in flashes(page)
    assert listed_names(page) == []
    with app.app_context():
        enrollment = enrollment_of(task_id)
        assert enrollment.status == EnrollmentStatus.APPROVED
        assert enrollment.reject_reason is None
        assert enrollment.decided_at is not None
        assert transitions_of(task_id) == [
            ("李明", "提交报名", "draft", "pending_review", None),
            ("张审核", "报名审核", "pending_review", "approved", None),
        ]
        task = db.session.get(HumanTask, task_id)
        assert task.status == HumanTaskStatus.COMPLETED
        assert task.completed_by.username == "reviewer"
        assert open_tasks_of(enrollment.id) == []


def test_reject_without_reason_changes_nothing(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = post_form(client, task_id, decision="reject", reason="   ")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "请填写不通过原因，说明需要单位修改的内容" in page
    assert re.search(r'<input checked[^>]*value="reject"', page)
    with app.app_context():
        assert enrollment_of(task_id).status == EnrollmentStatus.PENDING_REVIEW
        assert len(transitions_of(task_id)) == 1
        task = db.session.get(HumanTask, task_id)
        assert task.status == HumanTaskStatus.OPEN
        assert task.claimed_by_id is None


def test_missing_decision_is_explained(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = post_form(client, task_id, reason="")

    assert response.status_code == 200
    assert "请选择审核结果：通过或不通过。" in response.get_data(as_text=True)
    with app.app_context():
        assert enrollment_of(task_id).status == EnrollmentStatus.PENDING_REVIEW


def test_overlong_reason_is_explained(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = post_form(client, task_id, decision="reject", reason="字" * 501)

    assert "不通过原因不能超过 500 字，请精简后再提交。" in response.get_data(as_text=True)
    with app.app_context():
        assert enrollment_of(task_id).status == EnrollmentStatus.PENDING_REVIEW


def test_reject_then_resubmit_returns_to_review(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)

    response = post_form(client, task_id, decision="reject", reason=REJECT_REASON)

    assert response.status_code == 302
    assert "已处理：报名审核 · 林晓燕 电梯，审核不通过，已退回单位修改。" in flashes(inbox(client))
    with app.app_context():
        enrollment_id = enrollment_of(task_id).id
        assert enrollment_of(task_id).status == EnrollmentStatus.REJECTED
        assert enrollment_of(task_id).reject_reason == REJECT_REASON
        assert open_tasks_of(enrollment_id) == [("修改报名", "enrollment_correction")]

    unit_admin = app.test_client()
    login_unit_admin(unit_admin)
    records = table_records(inbox(unit_admin))
    assert [(r["任务名称"], r["报名人"]) for r in records] == [("修改报名", "林晓燕")]
    correction_id = int(re.search(r"/inbox/tasks/(\d+)", inbox(unit_admin)).group(1))
    page = open_page(unit_admin, correction_id)
    assert f"审核不通过原因：{REJECT_REASON}" in page
    assert ">修改后重新提交</label>" in page
    assert ">撤回报名</label>" in page
    assert "审核意见交流" not in page

    response = post_form(unit_admin, correction_id, action="resubmit", note="已更换清晰复印件")

    assert response.status_code == 302
    assert "已处理：修改报名 · 林晓燕 电梯，已重新提交，等待协会审核。" in flashes(
        inbox(unit_admin)
    )
    assert listed_names(inbox(client, "?tab=group")) == ["林晓燕"]
    with app.app_context():
        assert enrollment_of(task_id).status == EnrollmentStatus.PENDING_REVIEW
        assert open_tasks_of(enrollment_id) == [("报名审核", "enrollment_review")]
        assert transitions_of(task_id) == [
            ("李明", "提交报名", "draft", "pending_review", None),
            ("张审核", "报名审核", "pending_review", "rejected", REJECT_REASON),
            ("李明", "修改报名", "rejected", "pending_review", "已更换清晰复印件"),
        ]


def test_withdraw_ends_enrollment(client, app):
    with app.app_context():
        correction_id = reject(submit_new("林晓燕", LIN_ID))
    login_unit_admin(client)

    response = post_form(client, correction_id, action="withdraw", note="")

    assert response.status_code == 302
    assert "已处理：修改报名 · 林晓燕 电梯，已撤回报名。" in flashes(inbox(client))
    with app.app_context():
        enrollment = enrollment_of(correction_id)
        assert enrollment.status == EnrollmentStatus.WITHDRAWN
        assert enrollment.status_label == "已撤回"
        assert open_tasks_of(enrollment.id) == []
        assert transitions_of(correction_id)[-1] == (
            "李明",
            "修改报名",
            "rejected",
            "withdrawn",
            None,
        )


def test_enrollment_list_links_correction(client, app):
    with app.app_context():
        correction_id = reject(submit_new("林晓燕", LIN_ID))
    login_unit_admin(client)

    page = client.get("/enrollments/?status=rejected").get_data(as_text=True)

    assert f'href="/inbox/tasks/{correction_id}">修改</a>' in page


def test_correction_needs_an_action(client, app):
    with app.app_context():
        correction_id = reject(submit_new("林晓燕", LIN_ID))
    login_unit_admin(client)

    response = post_form(client, correction_id, note="随便写写")

    assert response.status_code == 200
    assert "请选择处理方式：重新提交或撤回报名。" in response.get_data(as_text=True)
    with app.app_context():
        assert enrollment_of(correction_id).status == EnrollmentStatus.REJECTED


def test_completed_page_is_read_only(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        complete_task(task_id, user_named("reviewer"), {"decision": "approve", "reason": ""})
        completed_at = db.session.get(HumanTask, task_id).completed_at
    login_reviewer(client)

    page = open_page(client, task_id)

    stamp = completed_at.strftime("%Y-%m-%d %H:%M:%S")
    assert f"任务状态：已完成 · 由 张审核 于 {stamp} 处理" in page
    assert 'name="decision"' not in page
    assert ">认领</button>" not in page
    assert "审核通过" in page


# --- Two reviewers at once -----------------------------------------------------------------


def test_double_completion_one_wins(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        add_colleague("reviewer2", "李审核")
    other = app.test_client()
    login_reviewer(client)
    login_reviewer(other, "reviewer2", "secret123")
    first_token = extract_csrf(open_page(client, task_id))
    second_token = extract_csrf(open_page(other, task_id))

    first = client.post(
        f"/inbox/tasks/{task_id}", data={"csrf_token": first_token, "decision": "approve"}
    )
    second = other.post(
        f"/inbox/tasks/{task_id}", data={"csrf_token": second_token, "decision": "approve"}
    )

    assert first.status_code == 302
    assert second.status_code == 409
    with app.app_context():
        stamp = db.session.get(HumanTask, task_id).completed_at.strftime("%Y-%m-%d %H:%M:%S")
        decisions = [t for t in transitions_of(task_id) if t[2] == "pending_review"]
        assert decisions == [("张审核", "报名审核", "pending_review", "approved", None)]
    page = second.get_data(as_text=True)
    assert f"该任务已由 张审核 于 {stamp} 处理，无需重复操作。" in page
    assert f"任务状态：已完成 · 由 张审核 于 {stamp} 处理" in page
    assert 'name="decision"' not in page


def test_simultaneous_posts_apply_once(app):
    """Both reviewers press 提交审核结果 at the same moment, from two web clients."""
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        add_colleague("reviewer2", "李审核")
    clients = {"reviewer": app.test_client(), "reviewer2": app.test_client()}
    login_reviewer(clients["reviewer"])
    login_reviewer(clients["reviewer2"], "reviewer2", "secret123")
    tokens = {name: extract_csrf(open_page(c, task_id)) for name, c in clients.items()}
    decisions = {"reviewer": "approve", "reviewer2": "reject"}
    barrier = threading.Barrier(2)
    statuses = {}

    def press(name: str):
        barrier.wait()
        response = clients[name].post(
            f"/inbox/tasks/{task_id}",
            data={"csrf_token": tokens[name], "decision": decisions[name], "reason": "并发"},
        )
        statuses[name] = response.status_code

    threads = [threading.Thread(target=press, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses.values()) == [302, 409]
    winner = next(name for name, code in statuses.items() if code == 302)
    with app.app_context():
        expected = EnrollmentStatus.APPROVED if winner == "reviewer" else EnrollmentStatus.REJECTED
        assert enrollment_of(task_id).status == expected
        decided = [t for t in transitions_of(task_id) if t[2] == "pending_review"]
        assert len(decided) == 1
        completed = db.session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.status == HumanTaskStatus.COMPLETED)
        )
        assert completed == 1


# --- Who gets 404 --------------------------------------------------------------------------


def test_other_unit_gets_404(client, app):
    with app.app_context():
        correction_id = reject(submit_new("林晓燕", LIN_ID))
        create_unit_with_admin("UNITB", "b_admin")
    login_unit_admin(client, "b_admin", "secret123")
    token = extract_csrf(inbox(client))

    page = client.get(f"/inbox/tasks/{correction_id}")
    post = client.post(
        f"/inbox/tasks/{correction_id}", data={"csrf_token": token, "action": "withdraw"}
    )
    claim = client.post(f"/inbox/tasks/{correction_id}/claim", data={"csrf_token": token})

    assert page.status_code == 404
    assert post.status_code == 404
    assert claim.status_code == 404
    assert "林晓燕" not in page.get_data(as_text=True)
    assert listed_names(inbox(client)) == []
    with app.app_context():
        assert enrollment_of(correction_id).status == EnrollmentStatus.REJECTED
        task = db.session.get(HumanTask, correction_id)
        assert task.status == HumanTaskStatus.OPEN
        assert task.claimed_by_id is None


def test_unit_admin_gets_404_on_review_task(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
    login_unit_admin(client)

    assert client.get(f"/inbox/tasks/{task_id}").status_code == 404


def test_staff_outside_group_gets_404(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        add_outsider()
    login_reviewer(client, "finance", "secret123")
    token = extract_csrf(inbox(client))

    page = client.get(f"/inbox/tasks/{task_id}")
    post = client.post(f"/inbox/tasks/{task_id}", data={"csrf_token": token, "decision": "approve"})

    assert page.status_code == 404
    assert post.status_code == 404
    with app.app_context():
        assert enrollment_of(task_id).status == EnrollmentStatus.PENDING_REVIEW


def test_reviewer_gets_404_on_unit_task(client, app):
    with app.app_context():
        correction_id = reject(submit_new("林晓燕", LIN_ID))
    login_reviewer(client)

    assert client.get(f"/inbox/tasks/{correction_id}").status_code == 404


def test_missing_task_gets_404(client):
    login_reviewer(client)

    assert client.get("/inbox/tasks/999999").status_code == 404


# --- Pages from the form registry ----------------------------------------------------------


def test_extra_diagram_task_renders_from_form_key(client, app, tmp_path):
    """A second review step added in the diagram gets a working page with no code change."""
    folder = tmp_path / "bpmn"
    folder.mkdir()
    diagrams = Path(__file__).parent / "bpmn"
    shutil.copy(diagrams / "two_level_review.bpmn", folder / "enrollment_review.bpmn")
    with app.app_context():
        load_process_models(folder)
        first_id = submit_new("林晓燕", LIN_ID)
    login_reviewer(client)
    assert table_records(inbox(client))[0]["任务名称"] == "初审"

    post_form(client, first_id, decision="approve")

    records = table_records(inbox(client))
    assert [(r["任务名称"], r["报名人"]) for r in records] == [("复审", "林晓燕")]
    second_id = int(re.search(r"/inbox/tasks/(\d+)", inbox(client)).group(1))
    page = open_page(client, second_id)
    assert re.search(r"<h1[^>]*>复审 ", page)
    assert "提交审核结果" in page
    response = post_form(client, second_id, decision="approve")
    assert response.status_code == 302
    assert "已处理：复审 · 林晓燕 电梯，审核通过。" in flashes(inbox(client))
    with app.app_context():
        assert enrollment_of(second_id).status == EnrollmentStatus.APPROVED


def test_unknown_form_key_is_explained(client, app):
    with app.app_context():
        task_id = submit_new("林晓燕", LIN_ID)
        db.session.get(HumanTask, task_id).form_key = "payment_check"
        db.session.commit()
    login_reviewer(client)
    token = extract_csrf(inbox(client))

    page = open_page(client, task_id)
    post = client.post(f"/inbox/tasks/{task_id}", data={"csrf_token": token, "decision": "approve"})

    message = "该任务使用的表单“payment_check”未在系统中登记，无法办理，请联系流程管理员。"
    assert message in page
    assert 'name="decision"' not in page
    assert message in post.get_data(as_text=True)
    with app.app_context():
        assert enrollment_of(task_id).status == EnrollmentStatus.PENDING_REVIEW
        assert db.session.scalar(select(func.count()).select_from(EnrollmentTransition)) == 1
