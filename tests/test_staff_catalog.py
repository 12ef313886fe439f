"""培训目录: fee parsing, add, rename, reorder, deactivate and delete of catalog entries."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CatalogItem, CatalogKind, Role, active_names
from app.staff.catalog_service import CatalogError, parse_fee_yuan
from tests.conftest import extract_csrf, login
from tests.test_enrollments_list import add_enrollment, demo_unit

PROJECTS = "/staff/catalog?kind=training_project"


@pytest.mark.parametrize(
    ("text", "fee_fen"),
    [
        ("150", 15000),
        ("0.01", 1),
        ("150.5", 15050),
        ("150.50", 15050),
        ("0", 0),
        ("１５０", 15000),
        (" 88.8 ", 8880),
    ],
)
def test_fee_parsing_accepts(text, fee_fen):
    assert parse_fee_yuan(text) == fee_fen


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.234", "超过两位小数"),
        ("-1", "是负数"),
        ("abc", "格式不正确"),
        ("1e3", "格式不正确"),
        ("", "格式不正确"),
        ("100000.01", "费用不能超过100000元"),
    ],
)
def test_fee_parsing_rejects(text, message):
    with pytest.raises(CatalogError) as raised:
        parse_fee_yuan(text)
    assert message in raised.value.message


def item(kind: str, name: str) -> CatalogItem:
    return db.session.scalar(
        select(CatalogItem).where(CatalogItem.kind == kind, CatalogItem.name == name)
    )


def staff_client(client):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)
    return client


def add_project(client, name: str, fee: str, sort_order: str = ""):
    token = extract_csrf(client.get(PROJECTS).get_data(as_text=True))
    return client.post(
        "/staff/catalog/training_project/new",
        data={"csrf_token": token, "name": name, "fee": fee, "sort_order": sort_order},
    )


def test_catalog_lists_each_kind(client):
    staff_client(client)
    for kind, label in CatalogKind.LABELS.items():
        html = client.get("/staff/catalog", query_string={"kind": kind}).get_data(as_text=True)
        assert f'active" href="/staff/catalog?kind={kind}">{label}</a>' in html
    html = client.get(PROJECTS).get_data(as_text=True)
    assert "<th>费用（元）</th>" in html
    assert "<td>电梯</td>\n      <td>150</td>" in html


def test_catalog_unknown_kind_404(client):
    staff_client(client)
    assert client.get("/staff/catalog?kind=nonsense").status_code == 404


@pytest.mark.parametrize(("fee", "fee_fen"), [("150", 15000), ("0.01", 1)])
def test_add_project_with_fee(client, app, fee, fee_fen):
    staff_client(client)
    response = add_project(client, "氧舱", fee)
    assert response.status_code == 302
    with app.app_context():
        added = item(CatalogKind.TRAINING_PROJECT, "氧舱")
        assert added.fee_fen == fee_fen
        assert added.active is True
        assert added.sort_order == 9  # after the nine seeded projects
        assert active_names(CatalogKind.TRAINING_PROJECT)[-1] == "氧舱"


@pytest.mark.parametrize(
    ("fee", "message"),
    [("1.234", "超过两位小数"), ("-1", "是负数"), ("", "请填写培训项目的费用")],
)
def test_add_project_bad_fee(client, app, fee, message):
    staff_client(client)
    response = add_project(client, "氧舱", fee)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert item(CatalogKind.TRAINING_PROJECT, "氧舱") is None


def test_add_duplicate_name(client, app):
    staff_client(client)
    html = add_project(client, "电梯", "150").get_data(as_text=True)
    assert "培训项目中已有“电梯”" in html


def test_add_other_kind_ignores_fee(client, app):
    staff_client(client)
    url = "/staff/catalog?kind=position"
    token = extract_csrf(client.get(url).get_data(as_text=True))
    client.post(
        "/staff/catalog/position/new",
        data={"csrf_token": token, "name": "安全主管", "sort_order": "0", "fee": "9"},
    )
    with app.app_context():
        added = item(CatalogKind.POSITION, "安全主管")
        assert added.fee_fen is None
        assert added.sort_order == 0


def test_edit_rename_reorder_reprice(client, app):
    with app.app_context():
        item_id = item(CatalogKind.TRAINING_PROJECT, "客运索道").id
    staff_client(client)
    url = f"/staff/catalog/items/{item_id}/edit"
    form_html = client.get(url).get_data(as_text=True)
    assert 'value="150"' in form_html
    token = extract_csrf(form_html)
    response = client.post(
        url, data={"csrf_token": token, "name": "客运索道（新）", "sort_order": "0", "fee": "99.9"}
    )
    assert response.status_code == 302
    with app.app_context():
        edited = db.session.get(CatalogItem, item_id)
        assert edited.name == "客运索道（新）"
        assert edited.fee_fen == 9990
        assert edited.sort_order == 0


def test_edit_bad_sort_order(client, app):
    with app.app_context():
        item_id = item(CatalogKind.TRAINING_PROJECT, "客运索道").id
    staff_client(client)
    url = f"/staff/catalog/items/{item_id}/edit"
    token = extract_csrf(client.get(url).get_data(as_text=True))
    html = client.post(
        url, data={"csrf_token": token, "name": "客运索道", "sort_order": "first", "fee": "1"}
    ).get_data(as_text=True)
    assert "排序应为0至9999的整数。" in html
    with app.app_context():
        assert db.session.get(CatalogItem, item_id).fee_fen == 15000


def test_rename_in_use_rejected(client, app):
    with app.app_context():
        add_enrollment(demo_unit(), "王东", "350623199112042011", project="电梯")
        item_id = item(CatalogKind.TRAINING_PROJECT, "电梯").id
    staff_client(client)
    url = f"/staff/catalog/items/{item_id}/edit"
    token = extract_csrf(client.get(url).get_data(as_text=True))
    html = client.post(
        url, data={"csrf_token": token, "name": "电梯（旧）", "sort_order": "", "fee": "150"}
    ).get_data(as_text=True)
    assert "“电梯”已被 1 条记录使用，不能改名。如需更换名称，请停用该项后新增。" in html
    with app.app_context():
        assert db.session.get(CatalogItem, item_id).name == "电梯"


def test_deactivate_and_reactivate(client, app):
    with app.app_context():
        item_id = item(CatalogKind.TRAINING_PROJECT, "气瓶").id
    staff_client(client)
    token = extract_csrf(client.get(PROJECTS).get_data(as_text=True))
    client.post(f"/staff/catalog/items/{item_id}/active", data={"csrf_token": token, "active": "0"})
    with app.app_context():
        assert "气瓶" not in active_names(CatalogKind.TRAINING_PROJECT)
    html = client.get(PROJECTS).get_data(as_text=True)
    row = re.search(rf'<tr data-item-id="{item_id}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert "<td>停用</td>" in row
    client.post(f"/staff/catalog/items/{item_id}/active", data={"csrf_token": token, "active": "1"})
    with app.app_context():
        assert "气瓶" in active_names(CatalogKind.TRAINING_PROJECT)


def test_delete_unused_item(client, app):
    with app.app_context():
        item_id = item(CatalogKind.EDUCATION, "博士研究生").id
    staff_client(client)
    token = extract_csrf(client.get("/staff/catalog?kind=education").get_data(as_text=True))
    client.post(f"/staff/catalog/items/{item_id}/delete", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(CatalogItem, item_id) is None


def test_delete_in_use_rejected(client, app):
    with app.app_context():
        add_enrollment(demo_unit(), "王东", "350623199112042011")
        item_id = item(CatalogKind.EDUCATION, "本科或同等学力").id
    staff_client(client)
    token = extract_csrf(client.get("/staff/catalog?kind=education").get_data(as_text=True))
    response = client.post(
        f"/staff/catalog/items/{item_id}/delete",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "“本科或同等学力”已被 1 条记录使用，不能删除，请改为停用。" in html
    with app.app_context():
        assert db.session.get(CatalogItem, item_id) is not None
    row = re.search(rf'<tr data-item-id="{item_id}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert "<td>1</td>" in row
    assert "删除" not in row
