"""Reviewing through the inbox pages: claim, release, reassign, approve, reject, the unit's
correction loop, double completion from two sessions, and tenant isolation."""

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentTransition,
    HumanTask,
    HumanTaskStatus,
    Role,
    Trainee,
    Unit,
    User,
)
from app.review.service import open_task_for, submit_enrollments
from tests.conftest import (
    complete_enrollments,
    create_reviewer,
    create_unit_with_admin,
    extract_csrf,
    login,
)


def add_enrollment(unit_code: str, name: str, id_number: str, project: str = "电梯") -> int:
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    trainee = Trainee(
        unit_id=unit.id,
        name=name,
        id_type="身份证",
        id_number=id_number,
        gender="男",
        phone="13906001122",
        education="大专",
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
    return enrollment.id


def submit(enrollment_id: int, admin_username: str = "demo_admin") -> int:
    """Submit an enrollment and return its open review task id."""
    admin = db.session.scalar(select(User).where(User.username == admin_username))
    enrollment = db.session.get(Enrollment, enrollment_id)
    submit_enrollments([enrollment], admin)
    return open_task_for(enrollment).id


@pytest.fixture
def submitted(app):
    with app.app_context():
        enrollment_id = add_enrollment("DEMO", "陈志强", "350206197903011351")
        task_id = submit(enrollment_id)
    return enrollment_id, task_id


def reviewer_client(app, username="reviewer", password="reviewer123"):
    client = app.test_client()
    assert login(client, username, password, role=Role.STAFF).status_code == 302
    return client


def post_with_token(client, url: str, data: dict, page_url: str | None = None):
    token = extract_csrf(client.get(page_url or "/inbox/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def status_of(app, enrollment_id: int) -> str:
    with app.app_context():
        return db.session.get(Enrollment, enrollment_id).status


def test_group_tab_lists_submitted_task(app, submitted):
    client = reviewer_client(app)
    html = client.get("/inbox/?tab=group").get_data(as_text=True)
    assert "陈志强" in html
    assert "3502**********1351" in html
    assert "350206197903011351" not in html
    mine = client.get("/inbox/?tab=mine").get_data(as_text=True)
    assert "陈志强" not in mine


def test_claim_moves_task_to_my_tab(app, submitted):
    _, task_id = submitted
    with app.app_context():
        create_reviewer("reviewer2")
    client = reviewer_client(app)
    post_with_token(client, f"/inbox/tasks/{task_id}/claim", {})
    assert "陈志强" in client.get("/inbox/?tab=mine").get_data(as_text=True)
    colleague = reviewer_client(app, "reviewer2", "secret123")
    assert "陈志强" not in colleague.get("/inbox/?tab=group").get_data(as_text=True)

    post_with_token(client, f"/inbox/tasks/{task_id}/release", {})
    assert "陈志强" in colleague.get("/inbox/?tab=group").get_data(as_text=True)


def test_reassign_to_colleague(app, submitted):
    _, task_id = submitted
    with app.app_context():
        colleague_id = create_reviewer("reviewer2").id
    client = reviewer_client(app)
    response = post_with_token(
        client,
        f"/inbox/tasks/{task_id}/reassign",
        {"assignee": colleague_id},
        page_url=f"/inbox/tasks/{task_id}",
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(HumanTask, task_id).claimed_by_id == colleague_id
    colleague = reviewer_client(app, "reviewer2", "secret123")
    assert "陈志强" in colleague.get("/inbox/?tab=mine").get_data(as_text=True)


def test_reassign_outside_group_is_refused(app, submitted):
    _, task_id = submitted
    with app.app_context():
        outsider = User(username="clerk", display_name="外组", role=Role.STAFF)
        outsider.set_password("secret123")
        db.session.add(outsider)
        db.session.commit()
        outsider_id = outsider.id
    client = reviewer_client(app)
    post_with_token(
        client,
        f"/inbox/tasks/{task_id}/reassign",
        {"assignee": outsider_id},
        page_url=f"/inbox/tasks/{task_id}",
    )
    with app.app_context():
        assert db.session.get(HumanTask, task_id).claimed_by_id is None


def test_approve_records_transition(app, submitted):
    enrollment_id, task_id = submitted
    client = reviewer_client(app)
    url = f"/inbox/tasks/{task_id}"
    response = post_with_token(client, url, {"decision": "approve", "reason": ""}, page_url=url)
    assert response.status_code == 302
    assert status_of(app, enrollment_id) == EnrollmentStatus.APPROVED
    with app.app_context():
        last = db.session.get(Enrollment, enrollment_id).transitions[-1]
        assert (last.from_status, last.to_status, last.step) == (
            "pending_review",
            "approved",
            "报名审核",
        )
        assert last.actor.username == "reviewer"


def test_reject_without_reason_changes_nothing(app, submitted):
    enrollment_id, task_id = submitted
    client = reviewer_client(app)
    url = f"/inbox/tasks/{task_id}"
    response = post_with_token(client, url, {"decision": "reject", "reason": "  "}, page_url=url)
    assert response.status_code == 200
    assert "请填写不通过原因" in response.get_data(as_text=True)
    assert status_of(app, enrollment_id) == EnrollmentStatus.PENDING_REVIEW
    with app.app_context():
        assert db.session.get(HumanTask, task_id).status == HumanTaskStatus.OPEN


def test_rejected_resubmitted_then_approved(app, submitted):
    enrollment_id, task_id = submitted
    reviewer = reviewer_client(app)
    url = f"/inbox/tasks/{task_id}"
    post_with_token(reviewer, url, {"decision": "reject", "reason": "照片不清晰"}, page_url=url)
    assert status_of(app, enrollment_id) == EnrollmentStatus.REJECTED

    unit_admin = app.test_client()
    login(unit_admin, "demo_admin", "demo123")
    with app.app_context():
        correction = open_task_for(db.session.get(Enrollment, enrollment_id))
        assert (correction.title, correction.lane) == ("修改报名", "用人单位")
        correction_id = correction.id
    page = unit_admin.get(f"/inbox/tasks/{correction_id}").get_data(as_text=True)
    assert "审核不通过原因：照片不清晰" in page
    correction_url = f"/inbox/tasks/{correction_id}"
    response = post_with_token(
        unit_admin,
        correction_url,
        {"action": "resubmit", "note": "已重新拍照"},
        page_url=correction_url,
    )
    assert response.status_code == 302
    assert status_of(app, enrollment_id) == EnrollmentStatus.PENDING_REVIEW

    with app.app_context():
        second_review = open_task_for(db.session.get(Enrollment, enrollment_id)).id
    second_url = f"/inbox/tasks/{second_review}"
    post_with_token(reviewer, second_url, {"decision": "approve"}, page_url=second_url)
    assert status_of(app, enrollment_id) == EnrollmentStatus.APPROVED
    with app.app_context():
        steps = [
            (t.step, t.to_status, t.reason)
            for t in db.session.get(Enrollment, enrollment_id).transitions
        ]
    assert steps == [
        ("提交报名", "pending_review", None),
        ("报名审核", "rejected", "照片不清晰"),
        ("修改报名", "pending_review", "已重新拍照"),
        ("报名审核", "approved", None),
    ]


def test_withdraw_after_rejection(app, submitted):
    enrollment_id, task_id = submitted
    reviewer = reviewer_client(app)
    url = f"/inbox/tasks/{task_id}"
    post_with_token(reviewer, url, {"decision": "reject", "reason": "不符合报名条件"}, page_url=url)
    unit_admin = app.test_client()
    login(unit_admin, "demo_admin", "demo123")
    with app.app_context():
        correction_id = open_task_for(db.session.get(Enrollment, enrollment_id)).id
    correction_url = f"/inbox/tasks/{correction_id}"
    post_with_token(unit_admin, correction_url, {"action": "withdraw"}, page_url=correction_url)
    assert status_of(app, enrollment_id) == EnrollmentStatus.WITHDRAWN
    with app.app_context():
        assert open_task_for(db.session.get(Enrollment, enrollment_id)) is None


def test_two_sessions_complete_once(app, submitted):
    enrollment_id, task_id = submitted
    with app.app_context():
        create_reviewer("reviewer2")
    first = reviewer_client(app)
    second = reviewer_client(app, "reviewer2", "secret123")
    url = f"/inbox/tasks/{task_id}"
    first_token = extract_csrf(first.get(url).get_data(as_text=True))
    second_token = extract_csrf(second.get(url).get_data(as_text=True))

    approved = first.post(url, data={"csrf_token": first_token, "decision": "approve"})
    rejected = second.post(
        url, data={"csrf_token": second_token, "decision": "reject", "reason": "重复"}
    )

    assert approved.status_code == 302
    assert rejected.status_code == 409
    html = rejected.get_data(as_text=True)
    assert re.search(r"该任务已由 张审核 于 [0-9-]+ [0-9:]+ 处理", html) or "已处理完毕" in html
    assert status_of(app, enrollment_id) == EnrollmentStatus.APPROVED
    with app.app_context():
        decisions = db.session.scalar(
            select(func.count())
            .select_from(EnrollmentTransition)
            .where(
                EnrollmentTransition.enrollment_id == enrollment_id,
                EnrollmentTransition.from_status == "pending_review",
            )
        )
        assert decisions == 1


def test_other_unit_cannot_open_correction_task(app, submitted):
    enrollment_id, task_id = submitted
    reviewer = reviewer_client(app)
    url = f"/inbox/tasks/{task_id}"
    post_with_token(reviewer, url, {"decision": "reject", "reason": "缺资料"}, page_url=url)
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
        correction_id = open_task_for(db.session.get(Enrollment, enrollment_id)).id
    intruder = app.test_client()
    login(intruder, "other_admin", "secret123")
    correction_url = f"/inbox/tasks/{correction_id}"

    assert intruder.get(correction_url).status_code == 404
    token = extract_csrf(intruder.get("/inbox/").get_data(as_text=True))
    response = intruder.post(correction_url, data={"csrf_token": token, "action": "withdraw"})
    assert response.status_code == 404
    assert "陈志强" not in intruder.get("/inbox/").get_data(as_text=True)
    assert status_of(app, enrollment_id) == EnrollmentStatus.REJECTED


def test_unit_admin_cannot_open_review_task(app, submitted):
    _, task_id = submitted
    unit_admin = app.test_client()
    login(unit_admin, "demo_admin", "demo123")
    assert unit_admin.get(f"/inbox/tasks/{task_id}").status_code == 404


def test_staff_outside_group_gets_404(app, submitted):
    _, task_id = submitted
    with app.app_context():
        outsider = User(username="clerk", display_name="外组", role=Role.STAFF)
        outsider.set_password("secret123")
        db.session.add(outsider)
        db.session.commit()
    client = reviewer_client(app, "clerk", "secret123")
    assert client.get(f"/inbox/tasks/{task_id}").status_code == 404
    assert "陈志强" not in client.get("/inbox/").get_data(as_text=True)


def test_bulk_approve_reports_already_handled(app):
    with app.app_context():
        create_reviewer("reviewer2")
        ids = [
            add_enrollment("DEMO", name, number)
            for name, number in [
                ("林晓燕", "350203198805122248"),
                ("黄美玲", "350211199209170467"),
                ("吴建华", "350102197106232118"),
            ]
        ]
        task_ids = [submit(enrollment_id) for enrollment_id in ids]
    colleague = reviewer_client(app, "reviewer2", "secret123")
    url = f"/inbox/tasks/{task_ids[0]}"
    post_with_token(colleague, url, {"decision": "reject", "reason": "缺照片"}, page_url=url)

    client = reviewer_client(app)
    token = extract_csrf(client.get("/inbox/").get_data(as_text=True))
    response = client.post(
        "/inbox/bulk-approve",
        data={"csrf_token": token, "ids": [str(task_id) for task_id in task_ids]},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "已审核通过 2 条报名" in html
    assert "1 条未处理：林晓燕 电梯：该任务已由 reviewer2 于" in html
    assert [status_of(app, enrollment_id) for enrollment_id in ids] == [
        EnrollmentStatus.REJECTED,
        EnrollmentStatus.APPROVED,
        EnrollmentStatus.APPROVED,
    ]


def test_bulk_approve_ignores_malformed_ids(app, submitted):
    enrollment_id, task_id = submitted
    client = reviewer_client(app)
    token = extract_csrf(client.get("/inbox/").get_data(as_text=True))
    response = client.post(
        "/inbox/bulk-approve",
        data={"csrf_token": token, "ids": ["99999999999999999999", "²", "-1", str(task_id)]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "已审核通过 1 条报名" in response.get_data(as_text=True)
    assert status_of(app, enrollment_id) == EnrollmentStatus.APPROVED


def reject_and_open_correction(app, submitted) -> tuple[object, str, int]:
    enrollment_id, task_id = submitted
    reviewer = reviewer_client(app)
    url = f"/inbox/tasks/{task_id}"
    post_with_token(reviewer, url, {"decision": "reject", "reason": "手机号码有误"}, page_url=url)
    unit_admin = app.test_client()
    login(unit_admin, "demo_admin", "demo123")
    with app.app_context():
        correction_id = open_task_for(db.session.get(Enrollment, enrollment_id)).id
    return unit_admin, f"/inbox/tasks/{correction_id}", enrollment_id


def correction_fields(**changes) -> dict:
    fields = {
        "action": "resubmit",
        "phone": "13906001122",
        "education": "大专",
        "degree": "",
        "training_type": "特种设备使用单位",
        "training_project": "电梯",
        "holds_certificate": "否",
    }
    fields.update(changes)
    return fields


def test_correction_page_shows_current_data(app, submitted):
    unit_admin, url, _ = reject_and_open_correction(app, submitted)
    html = unit_admin.get(url).get_data(as_text=True)
    assert 'name="phone" type="text" value="13906001122"' in html
    assert '<option selected value="电梯">电梯</option>' in html


def test_resubmit_saves_corrected_fields(app, submitted):
    unit_admin, url, enrollment_id = reject_and_open_correction(app, submitted)
    response = post_with_token(
        unit_admin,
        url,
        correction_fields(
            phone="+86 138-0592-1234", training_project="锅炉", holds_certificate="是"
        ),
        page_url=url,
    )
    assert response.status_code == 302
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.status == EnrollmentStatus.PENDING_REVIEW
        assert enrollment.trainee.phone == "13805921234"
        assert enrollment.training_project == "锅炉"
        assert enrollment.holds_certificate is True
        assert (
            enrollment.transitions[-1].reason
            == "修改了手机号码、培训项目、是否持有特种设备安全管理证书"
        )


def test_resubmit_with_bad_phone_changes_nothing(app, submitted):
    unit_admin, url, enrollment_id = reject_and_open_correction(app, submitted)
    response = post_with_token(
        unit_admin, url, correction_fields(phone="1234", training_project="锅炉"), page_url=url
    )
    assert response.status_code == 200
    assert "手机号码“1234”无效" in response.get_data(as_text=True)
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.status == EnrollmentStatus.REJECTED
        assert enrollment.training_project == "电梯"
        assert enrollment.trainee.phone == "13906001122"


def test_resubmit_into_duplicate_project_is_refused(app, submitted):
    unit_admin, url, enrollment_id = reject_and_open_correction(app, submitted)
    with app.app_context():
        first = db.session.get(Enrollment, enrollment_id)
        db.session.add(
            Enrollment(
                unit_id=first.unit_id,
                trainee_id=first.trainee_id,
                position="安全员",
                training_type="特种设备使用单位",
                training_project="锅炉",
                organization="厦门市特种设备协会",
            )
        )
        db.session.commit()
    response = post_with_token(
        unit_admin, url, correction_fields(training_project="锅炉"), page_url=url
    )
    assert response.status_code == 200
    assert "该学员已有“锅炉”的报名，不能重复报名" in response.get_data(as_text=True)
    with app.app_context():
        enrollment = db.session.get(Enrollment, enrollment_id)
        assert enrollment.status == EnrollmentStatus.REJECTED
        assert enrollment.training_project == "电梯"


def test_unknown_catalog_value_is_refused(app, submitted):
    unit_admin, url, enrollment_id = reject_and_open_correction(app, submitted)
    response = post_with_token(
        unit_admin, url, correction_fields(education="研究生以上"), page_url=url
    )
    assert "最高学历“研究生以上”不在目录中" in response.get_data(as_text=True)
    assert status_of(app, enrollment_id) == EnrollmentStatus.REJECTED
