"""报名管理 list: filters, paging, ID masking and unit isolation."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Enrollment,
    EnrollmentStatus,
    ImportBatch,
    Role,
    Trainee,
    Unit,
)
from tests.conftest import create_unit_with_admin, login

BASE_TIME = datetime(2023, 10, 10, 9, 0, 0)


def add_enrollment(
    unit: Unit,
    name: str,
    id_number: str,
    *,
    project: str = "电梯",
    training_type: str = "特种设备使用单位",
    position: str = "安全员",
    status: str = EnrollmentStatus.DRAFT,
    batch: ImportBatch | None = None,
    minutes: int = 0,
    reject_reason: str | None = None,
) -> Enrollment:
    """Insert one enrollment (and its trainee when new) directly with the models."""
    trainee = db.session.scalar(
        select(Trainee).where(Trainee.unit_id == unit.id, Trainee.id_number == id_number)
    )
    if trainee is None:
        trainee = Trainee(
            unit=unit,
            name=name,
            id_type="身份证",
            id_number=id_number,
            gender="男",
            phone="13800138000",
            education="本科或同等学力",
        )
        db.session.add(trainee)
    enrollment = Enrollment(
        unit_id=unit.id,
        trainee=trainee,
        batch=batch,
        position=position,
        training_type=training_type,
        training_project=project,
        organization="厦门市特种设备协会",
        status=status,
        reject_reason=reject_reason,
        created_at=BASE_TIME + timedelta(minutes=minutes),
    )
    db.session.add(enrollment)
    db.session.commit()
    return enrollment


def add_batch(unit: Unit, number: str, position: str = "安全员") -> ImportBatch:
    batch = ImportBatch(number=number, unit_id=unit.id, position=position)
    db.session.add(batch)
    db.session.commit()
    return batch


def demo_unit() -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == "DEMO"))


def listed_names(html: str) -> list[str]:
    """Return the 姓名 cell of every row of the enrollment table, in page order."""
    rows = re.findall(r'<tr data-enrollment-id="\d+">(.*?)</tr>', html, re.S)
    names = []
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        # Unit admin columns: checkbox, 序号, 导入批次, 姓名 ...
        names.append(cells[3].strip())
    return names


@pytest.fixture
def sample(app):
    """Six enrollments of the demo unit covering every filter, and one of another unit."""
    with app.app_context():
        unit = demo_unit()
        first = add_batch(unit, "20231010001")
        second = add_batch(unit, "20231011001", position="安全总监")
        add_enrollment(unit, "王东", "350623199112042011", batch=first, minutes=1)
        add_enrollment(unit, "王东", "350623199112042011", project="锅炉", batch=first, minutes=2)
        add_enrollment(
            unit,
            "白露",
            "350206200011117171",
            position="安全总监",
            batch=second,
            training_type="特种设备生产单位",
            status=EnrollmentStatus.APPROVED,
            minutes=3,
        )
        add_enrollment(
            unit,
            "夏文娟",
            "110101199003077777",
            project="压力容器",
            status=EnrollmentStatus.PENDING_REVIEW,
            minutes=4,
        )
        add_enrollment(
            unit,
            "王二",
            "350206198001010019",
            project="气瓶",
            status=EnrollmentStatus.WITHDRAWN,
            minutes=5,
        )
        add_enrollment(
            unit,
            "白豆皮",
            "35020619850505301X",
            project="起重机械",
            status=EnrollmentStatus.APPROVED,
            minutes=6,
        )
        other = create_unit_with_admin("OTHER", "other_admin")
        add_enrollment(other, "隔壁张三", "350206199901011234", minutes=7)


def get_list(client, **params) -> str:
    response = client.get("/enrollments/", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_list_newest_first_own_unit(client, sample):
    login(client, "demo_admin", "demo123")
    names = listed_names(get_list(client))
    assert names == ["白豆皮", "王二", "夏文娟", "白露", "王东", "王东"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"batch": "20231010001"}, ["王东", "王东"]),
        ({"batch": "2023101"}, ["白露", "王东", "王东"]),
        ({"name": "王"}, ["王二", "王东", "王东"]),
        ({"name": "白豆"}, ["白豆皮"]),
        ({"id_number": "35020619850505301x"}, ["白豆皮"]),
        ({"id_number": "350206"}, ["白豆皮", "王二", "白露"]),
        ({"id_number": "０２０６"}, []),
        ({"position": "安全总监"}, ["白露"]),
        ({"training_type": "特种设备生产单位"}, ["白露"]),
        ({"training_project": "锅炉"}, ["王东"]),
        ({"status": EnrollmentStatus.DRAFT}, ["王东", "王东"]),
        ({"status": EnrollmentStatus.PENDING_REVIEW}, ["夏文娟"]),
        ({"status": EnrollmentStatus.APPROVED}, ["白豆皮", "白露"]),
        ({"status": EnrollmentStatus.WITHDRAWN}, ["王二"]),
        ({"status": EnrollmentStatus.REJECTED}, []),
        ({"name": "王", "training_project": "电梯"}, ["王东"]),
        ({"name": "%"}, []),
    ],
)
def test_list_filter_narrows(client, sample, params, expected):
    login(client, "demo_admin", "demo123")
    assert listed_names(get_list(client, **params)) == expected


def test_list_filter_id_full_width(client, sample):
    login(client, "demo_admin", "demo123")
    html = get_list(client, id_number="３５０６２３")
    assert listed_names(html) == ["王东", "王东"]


def test_list_filter_selects_from_catalog(client, sample):
    login(client, "demo_admin", "demo123")
    html = get_list(client)
    for label in ("导入批次", "学生姓名", "证件号", "管理岗位", "培训类型", "培训项目", "报名状态"):
        assert f">{label}</label>" in html
    assert '<option value="锅炉">锅炉</option>' in html
    assert '<option value="安全总监">安全总监</option>' in html
    assert '<option value="rejected">审核不通过</option>' in html
    assert ">查询</button>" in html
    assert ">重置</a>" in html


def test_list_masks_id_numbers(client, sample):
    login(client, "demo_admin", "demo123")
    html = get_list(client)
    assert "3506**********2011" in html
    assert "3502**********301X" in html
    assert "350623199112042011" not in html
    assert "35020619850505301X" not in html


def test_list_columns_and_row_actions(client, sample):
    login(client, "demo_admin", "demo123")
    html = get_list(client)
    headers = re.findall(r"<th>(.*?)</th>", html)
    assert headers[1:] == [
        "序号",
        "导入批次",
        "姓名",
        "证件号",
        "管理岗位",
        "培训类型",
        "培训项目",
        "所属培训机构",
        "导入时间",
        "报名状态",
        "操作",
    ]
    rows = dict(re.findall(r'<tr data-enrollment-id="(\d+)">(.*?)</tr>', html, re.S))
    with client.application.app_context():
        by_status = {
            e.status: str(e.id)
            for e in db.session.scalars(
                select(Enrollment).where(Enrollment.unit_id == demo_unit().id)
            )
        }
    draft_row = rows[by_status[EnrollmentStatus.DRAFT]]
    approved_row = rows[by_status[EnrollmentStatus.APPROVED]]
    assert ">详情</a>" in draft_row
    assert ">删除</button>" in draft_row
    assert ">提交</button>" in draft_row
    assert "disabled" not in draft_row
    assert ">详情</a>" in approved_row
    assert "删除" not in approved_row
    assert "提交" not in approved_row
    assert "2023-10-10 09:01:00" in html
    assert ">20231010001</td>" in html


def test_list_toolbar_links(client, sample):
    login(client, "demo_admin", "demo123")
    html = get_list(client)
    assert ">下载导入模板</a>" in html
    assert ">批量导入报名</a>" in html
    assert 'data-testid="submit-selected">提交</button>' in html


def test_list_paging(client, app):
    with app.app_context():
        unit = demo_unit()
        for number in range(25):
            add_enrollment(
                unit, f"学员{number:02d}", f"3502061990010100{number:02d}", minutes=number
            )
    login(client, "demo_admin", "demo123")

    first = get_list(client)
    third = get_list(client, page=3)
    clamped = get_list(client, page=99)

    assert listed_names(first) == [f"学员{n:02d}" for n in range(24, 14, -1)]
    assert listed_names(third) == [f"学员{n:02d}" for n in range(4, -1, -1)]
    assert "第3/3页 总共25条" in third
    assert listed_names(clamped) == listed_names(third)
    assert ">21</td>" in third  # 序号 continues across pages
    for label in ("首页", "上一页", "下一页", "尾页"):
        assert f">{label}</a>" in first


def test_list_paging_keeps_filters(client, app):
    with app.app_context():
        unit = demo_unit()
        for number in range(12):
            add_enrollment(
                unit, f"学员{number:02d}", f"3502061990010100{number:02d}", minutes=number
            )
    login(client, "demo_admin", "demo123")
    html = get_list(client, name="学员")
    assert "name=%E5%AD%A6%E5%91%98&amp;page=2" in html or "page=2&amp;name=" in html


def test_list_hides_other_units(client, sample):
    login(client, "other_admin", "secret123")
    html = get_list(client)
    assert listed_names(html) == ["隔壁张三"]
    for name in ("王东", "白露", "夏文娟", "王二", "白豆皮"):
        assert name not in html
    assert listed_names(get_list(client, name="王")) == []


def test_staff_list_shows_all_units(client, sample):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)
    html = get_list(client)
    rows = re.findall(r'<tr data-enrollment-id="\d+">(.*?)</tr>', html, re.S)
    units = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1] for row in rows]
    assert units == ["OTHER测试单位"] + ["厦门示范机电设备有限公司"] * 6
    assert "<th>单位</th>" in html
    assert "删除" not in html
    assert "批量导入报名" not in html
    assert 'name="ids"' not in html


def test_staff_list_filters_by_unit(client, sample):
    with client.application.app_context():
        other_id = db.session.scalar(select(Unit.id).where(Unit.code == "OTHER"))
    login(client, "reviewer", "reviewer123", role=Role.STAFF)
    html = get_list(client, unit=other_id)
    assert html.count("<tr data-enrollment-id=") == 1
    assert "隔壁张三" in html
    assert "王东" not in html


def test_list_requires_login(client):
    response = client.get("/enrollments/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
