"""The four-step form: saving steps, keeping typed values, completeness and submission."""

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, HumanTask, Unit
from tests.conftest import complete_enrollments, create_unit_with_admin, extract_csrf, login
from tests.test_enrollments_list import add_enrollment, demo_unit


@pytest.fixture
def draft(app):
    with app.app_context():
        return add_enrollment(demo_unit(), "王东", "350623199112042011").id


def post_step(client, enrollment_id: int, step: int, data: dict, button: str = "next"):
    page = client.get(f"/enrollments/{enrollment_id}/steps/{step}")
    token = extract_csrf(page.get_data(as_text=True))
    return client.post(
        f"/enrollments/{enrollment_id}/steps/{step}",
        data={"csrf_token": token, button: "x", **data},
    )


def step_states(html: str) -> list[str]:
    import re

    return re.findall(r'data-step="\d" data-complete="(yes|no)"', html)


def test_step_bar_shows_what_is_complete(client, app, draft):
    with app.app_context():
        unit = demo_unit()
        unit.address = ""
        db.session.commit()
    login(client, "demo_admin", "demo123")
    html = client.get(f"/enrollments/{draft}/steps/1").get_data(as_text=True)
    # Personal and training data came from the import; the unit address and documents did not.
    assert step_states(html) == ["yes", "no", "yes", "no"]
    for title in ("个人信息", "单位信息", "培训信息", "资料上传"):
        assert title in html


def test_personal_step_saves_and_moves_on(client, app, draft):
    login(client, "demo_admin", "demo123")
    response = post_step(
        client, draft, 1, {"phone": "139 0600 1122", "education": "大专", "degree": "机电一体化"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enrollments/{draft}/steps/2")
    with app.app_context():
        trainee = db.session.get(Enrollment, draft).trainee
        assert (trainee.phone, trainee.education, trainee.degree) == (
            "13906001122",
            "大专",
            "机电一体化",
        )
        # The resident ID fixes the gender: the stored value stays.
        assert trainee.gender == "男"


def test_invalid_step_kept_as_draft_when_moving_back(client, app, draft):
    login(client, "demo_admin", "demo123")
    response = post_step(
        client,
        draft,
        2,
        {"address": "厦门市湖里区示范路 88 号", "contact_name": "", "contact_phone": "12345"},
        button="previous",
    )
    assert response.headers["Location"].endswith("/steps/1")
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        assert json.loads(enrollment.form_draft)["2"]["contact_phone"] == "12345"
        assert enrollment.unit_contact_phone == ""

    html = client.get(f"/enrollments/{draft}/steps/2").get_data(as_text=True)
    assert 'value="12345"' in html
    assert "请填写单位联系人。" in html
    assert "联系电话应为 11 位手机号码，或带区号的固定电话" in html
    assert step_states(html)[1] == "no"


def test_invalid_step_stays_on_next(client, app, draft):
    login(client, "demo_admin", "demo123")
    response = post_step(client, draft, 1, {"phone": "110", "education": "大专"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "请按提示改正标红的内容。" in html
    assert 'value="110"' in html


def test_unit_step_saves_and_clears_draft(client, app, draft):
    login(client, "demo_admin", "demo123")
    post_step(
        client, draft, 2, {"address": "x", "contact_name": "", "contact_phone": ""}, "previous"
    )
    response = post_step(
        client,
        draft,
        2,
        {
            "address": "厦门市思明区鹭江道 1 号",
            "contact_name": "陈红",
            "contact_phone": "0592-5123456",
        },
    )
    assert response.headers["Location"].endswith("/steps/3")
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        assert enrollment.form_draft is None
        assert (
            enrollment.unit_address,
            enrollment.unit_contact_name,
            enrollment.unit_contact_phone,
        ) == ("厦门市思明区鹭江道 1 号", "陈红", "0592-5123456")


def test_training_step_refuses_duplicate_project(client, app, draft):
    with app.app_context():
        add_enrollment(demo_unit(), "王东", "350623199112042011", project="锅炉")
    login(client, "demo_admin", "demo123")
    response = post_step(
        client,
        draft,
        3,
        {
            "position": "安全员",
            "training_type": "特种设备使用单位",
            "training_project": "锅炉",
            "holds_certificate": "否",
        },
    )
    assert "该学员已有“锅炉”的报名，不能重复报名" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Enrollment, draft).training_project == "电梯"


def test_training_step_refuses_value_outside_catalog(client, app, draft):
    login(client, "demo_admin", "demo123")
    response = post_step(
        client,
        draft,
        3,
        {
            "position": "安全员",
            "training_type": "特种设备使用单位",
            "training_project": "火箭",
            "holds_certificate": "是",
        },
    )
    assert "培训项目“火箭”不在目录中" in response.get_data(as_text=True)


def test_submit_from_form_needs_commitment(client, app, draft):
    with app.app_context():
        complete_enrollments([db.session.get(Enrollment, draft)])
        enrollment = db.session.get(Enrollment, draft)
        enrollment.committed_at = None
        db.session.commit()
    login(client, "demo_admin", "demo123")
    response = post_step(client, draft, 4, {}, button="submit")
    assert response.headers["Location"].endswith("/steps/4")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未提交：资料未完善，缺少资料上传（承诺勾选）" in html
    with app.app_context():
        assert db.session.get(Enrollment, draft).status == EnrollmentStatus.DRAFT

    response = post_step(client, draft, 4, {"commitment": "y"}, button="submit")
    assert response.headers["Location"].endswith("/enrollments/")
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        assert enrollment.status == EnrollmentStatus.PENDING_REVIEW
        assert enrollment.committed_at is not None


def test_list_submit_names_incomplete_enrollments(client, app):
    with app.app_context():
        unit = demo_unit()
        complete = add_enrollment(unit, "王东", "350623199112042011")
        complete_enrollments([complete])
        partial = add_enrollment(unit, "夏文娟", "110101199003077777")
        ids = [complete.id, partial.id]
    login(client, "demo_admin", "demo123")
    token = extract_csrf(client.get("/enrollments/").get_data(as_text=True))
    response = client.post(
        "/enrollments/submit", data={"csrf_token": token, "ids": ids}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "已提交 1 条报名（王东），等待协会审核。" in html
    assert (
        "1 条报名未提交：夏文娟（电梯）：资料未完善，缺少资料上传"
        "（申请表、2寸照片、身份证正面、身份证反面、承诺勾选）"
    ) in html
    with app.app_context():
        assert db.session.get(Enrollment, ids[0]).status == EnrollmentStatus.PENDING_REVIEW
        assert db.session.get(Enrollment, ids[1]).status == EnrollmentStatus.DRAFT


def test_row_submit_opens_form_when_incomplete(client, app, draft):
    login(client, "demo_admin", "demo123")
    token = extract_csrf(client.get("/enrollments/").get_data(as_text=True))
    response = client.post(f"/enrollments/{draft}/submit", data={"csrf_token": token})
    assert response.headers["Location"].endswith(f"/enrollments/{draft}/steps/4")
    with app.app_context():
        assert db.session.get(Enrollment, draft).status == EnrollmentStatus.DRAFT


def test_rejected_enrollment_resubmitted_from_form(client, app, draft):
    from app.models import User
    from app.review.service import open_task_for, submit_enrollments
    from workflows.runtime import complete_task

    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        complete_enrollments([enrollment])
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        reviewer = db.session.scalar(select(User).where(User.username == "reviewer"))
        submit_enrollments([enrollment], admin)
        complete_task(
            open_task_for(enrollment).id, reviewer, {"decision": "reject", "reason": "照片不清晰"}
        )
        assert db.session.get(Enrollment, draft).status == EnrollmentStatus.REJECTED

    login(client, "demo_admin", "demo123")
    html = client.get(f"/enrollments/{draft}/steps/4").get_data(as_text=True)
    assert "审核不通过原因：照片不清晰" in html
    assert 'value="重新提交"' in html
    response = post_step(client, draft, 4, {"commitment": "y"}, button="submit")
    assert response.headers["Location"].endswith("/enrollments/")
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        assert enrollment.status == EnrollmentStatus.PENDING_REVIEW
        task = open_task_for(enrollment)
        assert task.task_spec_name == "Task_Review"


def test_submitted_enrollment_is_read_only(client, app, draft):
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        enrollment.status = EnrollmentStatus.PENDING_REVIEW
        db.session.commit()
    login(client, "demo_admin", "demo123")
    html = client.get(f"/enrollments/{draft}/steps/1").get_data(as_text=True)
    assert "报名状态为“待审核”，资料不能再修改。" in html
    assert 'name="next"' not in html
    response = post_step(client, draft, 1, {"phone": "13906001122", "education": "大专"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Enrollment, draft).trainee.phone == "13800138000"


def test_other_unit_gets_404_on_every_step(app, draft):
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    client = app.test_client()
    login(client, "other_admin", "secret123")
    for step in (1, 2, 3, 4):
        assert client.get(f"/enrollments/{draft}/steps/{step}").status_code == 404
    assert client.get(f"/enrollments/{draft}/steps/5").status_code == 404


def test_application_form_pdf_has_the_enrollment_data(client, app, draft):
    import io

    from pypdf import PdfReader

    login(client, "demo_admin", "demo123")
    response = client.get(f"/enrollments/{draft}/application-form.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in ("王东", "350623199112042011", "厦门示范机电设备有限公司", "电梯", "安全员"):
        assert expected in text
    with app.app_context():
        assert db.session.scalar(select(Unit.credit_code).where(Unit.code == "DEMO")) in text


def test_correction_task_refuses_incomplete_resubmission(client, app, draft):
    from app.models import EnrollmentDocument, User
    from app.review.service import open_task_for, submit_enrollments
    from workflows.runtime import complete_task

    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        complete_enrollments([enrollment])
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        reviewer = db.session.scalar(select(User).where(User.username == "reviewer"))
        submit_enrollments([enrollment], admin)
        complete_task(
            open_task_for(enrollment).id, reviewer, {"decision": "reject", "reason": "缺照片"}
        )
        photo = db.session.scalar(
            select(EnrollmentDocument).where(
                EnrollmentDocument.enrollment_id == draft, EnrollmentDocument.kind == "photo"
            )
        )
        db.session.delete(photo)
        db.session.commit()
        task_id = open_task_for(enrollment).id

    login(client, "demo_admin", "demo123")
    page = client.get(f"/inbox/tasks/{task_id}")
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post(
        f"/inbox/tasks/{task_id}", data={"csrf_token": token, "action": "resubmit"}
    )
    assert "资料未完善，缺少资料上传（2寸照片）" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Enrollment, draft).status == EnrollmentStatus.REJECTED
        assert db.session.get(HumanTask, task_id).status == "open"


def test_reviewed_enrollment_keeps_submitted_personal_data(client, app):
    from app.models import User
    from app.review.service import open_task_for, submit_enrollments
    from workflows.runtime import complete_task

    with app.app_context():
        unit = demo_unit()
        approved = add_enrollment(unit, "郑丽娟", "35020519851130302X", project="电梯")
        draft = add_enrollment(unit, "郑丽娟", "35020519851130302X", project="锅炉")
        complete_enrollments([approved])
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        reviewer = db.session.scalar(select(User).where(User.username == "reviewer"))
        submit_enrollments([approved], admin)
        complete_task(open_task_for(approved).id, reviewer, {"decision": "approve", "reason": ""})
        approved_id, draft_id = approved.id, draft.id

    login(client, "demo_admin", "demo123")
    post_step(client, draft_id, 1, {"phone": "13900000009", "education": "博士研究生"})

    with app.app_context():
        assert db.session.get(Enrollment, draft_id).trainee.phone == "13900000009"
    approved_page = client.get(f"/enrollments/{approved_id}").get_data(as_text=True)
    assert "13800138000" in approved_page
    assert "13900000009" not in approved_page
    assert "博士研究生" not in approved_page
    draft_page = client.get(f"/enrollments/{draft_id}").get_data(as_text=True)
    assert "13900000009" in draft_page


def test_kept_draft_values_are_cut(client, app, draft):
    login(client, "demo_admin", "demo123")
    post_step(
        client,
        draft,
        2,
        {"address": "厦" * 100_000, "contact_name": "", "contact_phone": ""},
        button="previous",
    )
    with app.app_context():
        kept = json.loads(db.session.get(Enrollment, draft).form_draft)["2"]
        assert len(kept["address"]) == 300


def test_full_width_landline_accepted(client, app, draft):
    login(client, "demo_admin", "demo123")
    response = post_step(
        client,
        draft,
        2,
        {
            "address": "厦门市思明区鹭江道 1 号",
            "contact_name": "陈红",
            "contact_phone": "０５９２－５１２３４５６",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Enrollment, draft).unit_contact_phone == "0592-5123456"


def test_too_long_phone_gives_one_message(client, app, draft):
    login(client, "demo_admin", "demo123")
    html = post_step(client, draft, 1, {"phone": "1" * 40, "education": "大专"}).get_data(
        as_text=True
    )
    assert html.count("手机号码过长，请填写 11 位手机号码。") == 1
    assert html.count("invalid-feedback d-block") == 1
