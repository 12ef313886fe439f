"""提交 from 报名管理: one row, the ticked rows, skipped rows and the 修改 link."""

import re
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    Group,
    HumanTask,
    HumanTaskStatus,
    ProcessInstance,
    ProcessModel,
    Trainee,
)
from app.seed import UNIT_GROUP
from tests.conftest import complete_enrollments, create_unit_with_admin, extract_csrf, login
from tests.test_enrollments_list import add_batch, add_enrollment, demo_unit

pytest.importorskip("app.review.service")


@pytest.fixture
def drafts(app):
    """Two demo drafts and one approved enrollment, as ids in that order."""
    with app.app_context():
        unit = demo_unit()
        ids = [
            add_enrollment(unit, "王东", "350623199112042011", minutes=1).id,
            add_enrollment(unit, "夏文娟", "110101199003077777", minutes=2).id,
            add_enrollment(
                unit, "白露", "350206200011117171", status=EnrollmentStatus.APPROVED, minutes=3
            ).id,
        ]
        complete_enrollments([db.session.get(Enrollment, i) for i in ids[:2]])
        return ids


def csrf(client) -> str:
    return extract_csrf(client.get("/enrollments/").get_data(as_text=True))


def status_of(enrollment_id: int) -> str:
    return db.session.get(Enrollment, enrollment_id).status


def test_submit_one_row(client, app, drafts):
    login(client, "demo_admin", "demo123")
    response = client.post(
        f"/enrollments/{drafts[0]}/submit",
        data={"csrf_token": csrf(client)},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "已提交 1 条报名（王东），等待协会审核。" in html
    with app.app_context():
        assert status_of(drafts[0]) == EnrollmentStatus.PENDING_REVIEW
        assert status_of(drafts[1]) == EnrollmentStatus.DRAFT


def test_submit_selected_reports_skipped(client, app, drafts):
    login(client, "demo_admin", "demo123")
    response = client.post(
        "/enrollments/submit",
        data={"csrf_token": csrf(client), "ids": [str(i) for i in drafts]},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "已提交 2 条报名（王东、夏文娟），等待协会审核。" in html
    assert "1 条报名未提交：白露（电梯）：" in html
    with app.app_context():
        assert status_of(drafts[0]) == EnrollmentStatus.PENDING_REVIEW
        assert status_of(drafts[1]) == EnrollmentStatus.PENDING_REVIEW
        assert status_of(drafts[2]) == EnrollmentStatus.APPROVED


def test_submit_nothing_selected(client, app, drafts):
    login(client, "demo_admin", "demo123")
    response = client.post(
        "/enrollments/submit", data={"csrf_token": csrf(client)}, follow_redirects=True
    )
    assert "请先勾选要提交的报名。" in response.get_data(as_text=True)
    with app.app_context():
        assert status_of(drafts[0]) == EnrollmentStatus.DRAFT


def test_submit_bad_id_value(client, app, drafts):
    login(client, "demo_admin", "demo123")
    response = client.post(
        "/enrollments/submit",
        data={"csrf_token": csrf(client), "ids": ["abc"]},
        follow_redirects=True,
    )
    assert "选中的报名编号无效，请刷新页面后重新勾选。" in response.get_data(as_text=True)
    with app.app_context():
        assert status_of(drafts[0]) == EnrollmentStatus.DRAFT


def test_submit_mixed_units_404(client, app, drafts):
    with app.app_context():
        other = create_unit_with_admin("OTHER", "other_admin")
        foreign_id = add_enrollment(other, "隔壁张三", "350206199901011234").id
    login(client, "demo_admin", "demo123")
    response = client.post(
        "/enrollments/submit",
        data={"csrf_token": csrf(client), "ids": [str(drafts[0]), str(foreign_id)]},
    )
    assert response.status_code == 404
    with app.app_context():
        assert status_of(drafts[0]) == EnrollmentStatus.DRAFT
        assert status_of(foreign_id) == EnrollmentStatus.DRAFT


def test_rejected_row_links_to_task(client, app):
    with app.app_context():
        enrollment = add_enrollment(
            demo_unit(),
            "白露",
            "350206200011117171",
            status=EnrollmentStatus.REJECTED,
            reject_reason="照片不清晰",
        )
        task_id = add_open_unit_task(enrollment)
    login(client, "demo_admin", "demo123")
    html = client.get("/enrollments/").get_data(as_text=True)
    row = re.search(r'<tr data-enrollment-id="\d+">(.*?)</tr>', html, re.S).group(1)
    assert f'href="/inbox/tasks/{task_id}">修改</a>' in row
    assert ">提交</button>" not in row


def add_open_unit_task(enrollment: Enrollment) -> int:
    """Add an open correction task of the unit for an enrollment, as the review flow would."""
    model = db.session.scalar(select(ProcessModel).order_by(ProcessModel.id))
    if model is None:
        model = ProcessModel(
            process_key="enrollment_review",
            version=1,
            file_name="enrollment_review.bpmn",
            source_sha256="0" * 64,
            bpmn_xml="<definitions/>",
            spec_json="{}",
        )
        db.session.add(model)
        db.session.flush()
    instance = ProcessInstance(
        process_model_id=model.id,
        subject_type="enrollment",
        subject_id=enrollment.id,
        unit_id=enrollment.unit_id,
        state_json="{}",
    )
    db.session.add(instance)
    db.session.flush()
    enrollment.process_instance_id = instance.id
    group = db.session.scalar(select(Group).where(Group.name == UNIT_GROUP))
    task = HumanTask(
        process_instance_id=instance.id,
        task_uuid=str(uuid.uuid4()),
        task_spec_name="correct_enrollment",
        title="修改报名",
        lane=UNIT_GROUP,
        group=group,
        form_key="enrollment_correction",
        subject_type="enrollment",
        subject_id=enrollment.id,
        unit_id=enrollment.unit_id,
        status=HumanTaskStatus.OPEN,
    )
    db.session.add(task)
    db.session.commit()
    return task.id


def test_submit_all_submits_filtered_drafts(client, app):
    with app.app_context():
        unit = demo_unit()
        first = add_batch(unit, "20261204001")
        second = add_batch(unit, "20261204002")
        complete_enrollments(
            [
                add_enrollment(unit, f"甲{number}", f"A{number:08d}", batch=first)
                for number in range(12)
            ]
            + [add_enrollment(unit, "乙", "B00000001", batch=second)]
        )
    login(client, "demo_admin", "demo123")
    page = client.get("/enrollments/?batch=20261204001").get_data(as_text=True)
    assert "共 12 条" in page
    token = extract_csrf(page)

    response = client.post(
        "/enrollments/submit-all?batch=20261204001",
        data={"csrf_token": token},
        follow_redirects=True,
    )

    assert "已提交 12 条报名" in response.get_data(as_text=True)
    with app.app_context():
        statuses = dict(
            db.session.execute(
                select(Trainee.name, Enrollment.status).join(Enrollment.trainee)
            ).all()
        )
    assert statuses["乙"] == EnrollmentStatus.DRAFT
    assert sum(status == EnrollmentStatus.PENDING_REVIEW for status in statuses.values()) == 12


def test_list_page_size_choice(client, app):
    with app.app_context():
        unit = demo_unit()
        for number in range(25):
            add_enrollment(unit, f"丙{number}", f"C{number:08d}")
    login(client, "demo_admin", "demo123")
    html = client.get("/enrollments/?per_page=20").get_data(as_text=True)
    assert html.count('class="form-check-input row-check"') == 20
    assert "第1/2页" in html
    html = client.get("/enrollments/?per_page=7").get_data(as_text=True)
    assert html.count('class="form-check-input row-check"') == 10
