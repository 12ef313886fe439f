"""选择学员报名: enrolling existing trainees in another project without an import."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus
from tests.conftest import create_unit_with_admin, extract_csrf, login
from tests.test_enrollments_list import add_enrollment, demo_unit


@pytest.fixture
def people(app):
    with app.app_context():
        unit = demo_unit()
        wang = add_enrollment(unit, "王东", "350623199112042011", project="电梯")
        xia = add_enrollment(unit, "夏文娟", "110101199003077777", project="锅炉")
        bai = add_enrollment(
            unit, "白露", "350206200011117171", project="锅炉", status=EnrollmentStatus.WITHDRAWN
        )
        return {"王东": wang.trainee_id, "夏文娟": xia.trainee_id, "白露": bai.trainee_id}


def enroll(client, ids, project="锅炉", **extra):
    token = extract_csrf(client.get("/trainees/enroll").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "ids": ids,
        "training_type": "特种设备使用单位",
        "training_project": project,
        "position": "安全总监",
        "holds_certificate": "是",
        **extra,
    }
    return client.post("/trainees/enroll", data=data, follow_redirects=True)


def projects_of(trainee_id: int) -> list[tuple[str, str]]:
    return sorted(
        db.session.execute(
            select(Enrollment.training_project, Enrollment.status).where(
                Enrollment.trainee_id == trainee_id
            )
        ).all()
    )


def test_enrolls_and_skips_live_duplicates(client, app, people):
    login(client, "demo_admin", "demo123")
    html = enroll(client, [people["王东"], people["夏文娟"], people["白露"]]).get_data(as_text=True)
    assert "已为 王东、白露 创建“锅炉”报名（待提交），请完善资料后提交。" in html
    assert "1 人未报名：夏文娟：已有“锅炉”的报名（待提交），不能重复报名" in html
    with app.app_context():
        assert projects_of(people["王东"]) == [("电梯", "draft"), ("锅炉", "draft")]
        # A withdrawn enrollment frees the project, as in the import.
        assert projects_of(people["白露"]) == [("锅炉", "draft"), ("锅炉", "withdrawn")]
        created = db.session.scalar(
            select(Enrollment).where(
                Enrollment.trainee_id == people["王东"], Enrollment.training_project == "锅炉"
            )
        )
        assert (created.position, created.holds_certificate, created.batch_id) == (
            "安全总监",
            True,
            None,
        )
        assert created.organization == "厦门市特种设备协会"


def test_list_shows_zero_batch_for_selected_enrollments(client, app, people):
    login(client, "demo_admin", "demo123")
    enroll(client, [people["王东"]])
    html = client.get("/enrollments/").get_data(as_text=True)
    assert "0000000000" in html


def test_nothing_ticked_is_explained(client, app, people):
    login(client, "demo_admin", "demo123")
    html = enroll(client, []).get_data(as_text=True)
    assert "请至少勾选一名学员。" in html


def test_project_outside_catalog_refused(client, app, people):
    login(client, "demo_admin", "demo123")
    html = enroll(client, [people["王东"]], project="火箭").get_data(as_text=True)
    assert "培训项目“火箭”不在目录中" in html
    with app.app_context():
        assert projects_of(people["王东"]) == [("电梯", "draft")]


def test_other_units_trainee_gives_404(app, people):
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    client = app.test_client()
    login(client, "other_admin", "secret123")
    response = enroll(client, [people["王东"]])
    assert response.status_code == 404
    with app.app_context():
        assert projects_of(people["王东"]) == [("电梯", "draft")]


def test_same_trainee_ticked_twice_enrolled_once(client, app, people):
    login(client, "demo_admin", "demo123")
    enroll(client, [people["王东"], people["王东"]])
    with app.app_context():
        assert projects_of(people["王东"]) == [("电梯", "draft"), ("锅炉", "draft")]


def test_non_numeric_id_explained(client, app, people):
    login(client, "demo_admin", "demo123")
    html = enroll(client, ["abc"]).get_data(as_text=True)
    assert "选中的学员编号无效，请刷新页面后重新勾选。" in html
    assert "无法被转化" not in html
