"""报名详情 and 删除: full ID for the owner, status history, 404 across units."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentTransition,
    Role,
    Trainee,
    User,
)
from tests.conftest import create_unit_with_admin, extract_csrf, login
from tests.test_enrollments_list import add_batch, add_enrollment, demo_unit


@pytest.fixture
def rejected_id(app):
    """A rejected demo enrollment with a submit and a reject transition."""
    # Pages look up the open correction task of a rejected enrollment in the review service.
    pytest.importorskip("app.review.service")
    with app.app_context():
        unit = demo_unit()
        batch = add_batch(unit, "20231010002")
        enrollment = add_enrollment(
            unit,
            "白露",
            "350206200011117171",
            batch=batch,
            status=EnrollmentStatus.REJECTED,
            reject_reason="照片不清晰，请重新上传",
        )
        reviewer = db.session.scalar(select(User).where(User.username == "reviewer"))
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        db.session.add_all(
            [
                EnrollmentTransition(
                    enrollment=enrollment,
                    actor=admin,
                    from_status=EnrollmentStatus.DRAFT,
                    to_status=EnrollmentStatus.PENDING_REVIEW,
                    step="提交报名",
                ),
                EnrollmentTransition(
                    enrollment=enrollment,
                    actor=reviewer,
                    from_status=EnrollmentStatus.PENDING_REVIEW,
                    to_status=EnrollmentStatus.REJECTED,
                    step="协会审核",
                    reason="照片不清晰，请重新上传",
                ),
            ]
        )
        db.session.commit()
        return enrollment.id


@pytest.fixture
def draft_id(app):
    with app.app_context():
        enrollment = add_enrollment(demo_unit(), "王东", "350623199112042011", project="锅炉")
        db.session.add(
            EnrollmentTransition(
                enrollment=enrollment, to_status=EnrollmentStatus.DRAFT, step="批量导入"
            )
        )
        db.session.commit()
        return enrollment.id


@pytest.fixture
def other_unit(app):
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")


def list_csrf(client) -> str:
    return extract_csrf(client.get("/enrollments/").get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_detail_shows_full_record(client, rejected_id):
    login(client, "demo_admin", "demo123")
    response = client.get(f"/enrollments/{rejected_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for section in ("个人信息", "单位信息", "培训信息", "报名状态", "状态记录"):
        assert section in html
    assert "350206200011117171" in html
    assert "厦门示范机电设备有限公司" in html
    assert "91350200MA2XN8QK7N" in html
    assert "20231010002" in html
    assert "是否持有特种设备安全管理证书" in html
    assert '<dt class="col-sm-4 col-lg-3">审核不通过原因</dt>' in html
    assert html.count("照片不清晰，请重新上传") == 2


def test_detail_lists_transitions(client, rejected_id):
    login(client, "demo_admin", "demo123")
    html = client.get(f"/enrollments/{rejected_id}").get_data(as_text=True)
    table = html.split('data-testid="transitions"')[1]
    headers = ["时间", "操作人", "环节", "原状态", "新状态", "原因"]
    assert "".join(f"<th>{h}</th>" for h in headers) in table
    assert (
        "<td>李明</td>\n      <td>提交报名</td>\n      <td>待提交</td>\n      <td>待审核</td>"
        in table
    )
    assert (
        "<td>张审核</td>\n      <td>协会审核</td>\n      <td>待审核</td>\n      <td>审核不通过</td>"
        in table
    )


def test_detail_draft_has_no_reject_reason(client, draft_id):
    login(client, "demo_admin", "demo123")
    html = client.get(f"/enrollments/{draft_id}").get_data(as_text=True)
    assert "审核不通过原因" not in html
    assert "<td>系统</td>" in html
    assert ">删除</button>" in html


def test_staff_sees_any_detail(client, draft_id):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)
    html = client.get(f"/enrollments/{draft_id}").get_data(as_text=True)
    assert "350623199112042011" in html
    assert ">删除</button>" not in html


def test_detail_unknown_id_404(client):
    login(client, "demo_admin", "demo123")
    assert client.get("/enrollments/999999").status_code == 404


def test_delete_draft_removes_history(client, app, draft_id):
    login(client, "demo_admin", "demo123")
    token = list_csrf(client)
    response = client.post(f"/enrollments/{draft_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/enrollments/"
    with app.app_context():
        assert db.session.get(Enrollment, draft_id) is None
        assert count(EnrollmentTransition) == 0
        assert count(Trainee) == 1
    html = client.get("/enrollments/").get_data(as_text=True)
    assert "已删除 王东（锅炉） 的报名。" in html


def test_delete_keeps_list_filters(client, draft_id):
    login(client, "demo_admin", "demo123")
    token = list_csrf(client)
    response = client.post(
        f"/enrollments/{draft_id}/delete",
        data={"csrf_token": token, "next": "/enrollments/?name=%E7%8E%8B&page=2"},
    )
    assert response.headers["Location"] == "/enrollments/?name=%E7%8E%8B&page=2"


def test_delete_ignores_foreign_next(client, draft_id):
    login(client, "demo_admin", "demo123")
    token = list_csrf(client)
    response = client.post(
        f"/enrollments/{draft_id}/delete",
        data={"csrf_token": token, "next": "//evil.example/enrollments/"},
    )
    assert response.headers["Location"] == "/enrollments/"


@pytest.mark.parametrize(
    "status",
    [
        EnrollmentStatus.PENDING_REVIEW,
        EnrollmentStatus.APPROVED,
        EnrollmentStatus.REJECTED,
        EnrollmentStatus.WITHDRAWN,
    ],
)
def test_delete_rejects_non_draft(client, app, status):
    if status == EnrollmentStatus.REJECTED:
        pytest.importorskip("app.review.service")
    with app.app_context():
        enrollment_id = add_enrollment(
            demo_unit(), "夏文娟", "110101199003077777", status=status
        ).id
    login(client, "demo_admin", "demo123")
    token = list_csrf(client)
    response = client.post(
        f"/enrollments/{enrollment_id}/delete",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    label = EnrollmentStatus.LABELS[status]
    assert f"夏文娟 的报名状态为“{label}”，只有“待提交”的报名可以删除。" in html
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id).status == status


def test_delete_requires_csrf(client, app, draft_id):
    login(client, "demo_admin", "demo123")
    response = client.post(f"/enrollments/{draft_id}/delete")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Enrollment, draft_id) is not None


def test_staff_cannot_delete(client, app, draft_id):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)
    token = list_csrf(client)
    response = client.post(f"/enrollments/{draft_id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Enrollment, draft_id) is not None


def test_other_unit_gets_404(client, app, draft_id, other_unit):
    login(client, "other_admin", "secret123")
    token = list_csrf(client)

    detail = client.get(f"/enrollments/{draft_id}")
    deletion = client.post(f"/enrollments/{draft_id}/delete", data={"csrf_token": token})
    submit = client.post(f"/enrollments/{draft_id}/submit", data={"csrf_token": token})
    selected = client.post(
        "/enrollments/submit", data={"csrf_token": token, "ids": [str(draft_id)]}
    )

    assert detail.status_code == 404
    assert "王东" not in detail.get_data(as_text=True)
    assert deletion.status_code == 404
    assert submit.status_code == 404
    assert selected.status_code == 404
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft_id)
        assert enrollment.status == EnrollmentStatus.DRAFT
        assert enrollment.submitted_at is None
        assert count(EnrollmentTransition) == 1


def test_other_unit_404_same_as_missing(client, draft_id, other_unit):
    login(client, "other_admin", "secret123")
    foreign = client.get(f"/enrollments/{draft_id}").get_data(as_text=True)
    missing = client.get("/enrollments/999999").get_data(as_text=True)
    assert foreign == missing


def test_huge_ids_give_404_not_error(client):
    login(client, "demo_admin", "demo123")
    assert client.get("/enrollments/99999999999999999999").status_code == 404
    assert client.get("/enrollments/2147483648").status_code == 404
    token = extract_csrf(client.get("/enrollments/").get_data(as_text=True))
    response = client.post("/enrollments/99999999999999999999/submit", data={"csrf_token": token})
    assert response.status_code == 404
    response = client.post(
        "/enrollments/submit",
        data={"csrf_token": token, "ids": ["99999999999999999999"]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "选中的报名编号无效" in response.get_data(as_text=True)
