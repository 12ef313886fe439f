"""单位管理: unit creation with credit-code checks, editing, and unit admin accounts."""

import re

import pytest
from sqlalchemy import func, select
from stdnum.cn import uscc

from app.accounts.credit_code import credit_code_check_character, credit_code_error
from app.extensions import db
from app.models import Role, Unit, User
from tests.conftest import create_unit_with_admin, extract_csrf, login

# Valid codes for each registration-authority prefix: 1 机构编制, 5 民政, 9 工商, N 农业, Y 其他.
VALID_CODES = [
    "11350200MB0123456A",
    "51350200MJ0123456L",
    "91350203MA31BC4D5R",
    "N2350200MA0123456F",
    "Y1350200MC0123456E",
]

STAFF_PAGES = [
    ("get", "/staff/units"),
    ("get", "/staff/units/new"),
    ("get", "/staff/units/1/edit"),
    ("get", "/staff/units/1/admins"),
    ("get", "/staff/accounts/1/password"),
    ("post", "/staff/accounts/1/active"),
    ("get", "/staff/catalog"),
    ("post", "/staff/catalog/training_project/new"),
    ("get", "/staff/catalog/items/1/edit"),
    ("post", "/staff/catalog/items/1/active"),
    ("post", "/staff/catalog/items/1/delete"),
    ("get", "/staff/users"),
    ("get", "/staff/users/new"),
    ("get", "/staff/users/1/groups"),
]


def staff_login(client):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)


def post_form(client, url: str, data: dict):
    token = extract_csrf(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def unit_data(code="XMJD01", credit_code="11350200MB0123456A", **extra) -> dict:
    data = {
        "code": code,
        "name": "厦门机电设备有限公司",
        "credit_code": credit_code,
        "contact_name": "陈红",
        "contact_phone": "0592-1234567",
    }
    data.update(extra)
    return data


def unit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Unit))


@pytest.mark.parametrize("code", VALID_CODES)
def test_check_character_matches_stdnum(code):
    assert credit_code_check_character(code[:17]) == uscc.calc_check_digit(code[:17])
    assert credit_code_error(code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("11350200MB0123456B", "统一社会信用代码校验位不正确"),
        ("11350200MB012345", "统一社会信用代码应为18位，当前为16位"),
        ("1135020AMB0123456A", "第3至8位为行政区划代码数字"),
        ("11350200MB0I23456A", "不含 I、O、S、V、Z"),
    ],
)
def test_credit_code_errors(code, message):
    assert message in credit_code_error(code)


@pytest.mark.parametrize("method,url", STAFF_PAGES)
def test_staff_pages_forbidden_to_unit_admin(client, method, url):
    login(client, "demo_admin", "demo123")
    token = extract_csrf(client.get("/enrollments/").get_data(as_text=True))
    response = client.get(url) if method == "get" else client.post(url, data={"csrf_token": token})
    assert response.status_code == 403


def test_staff_pages_need_login(client):
    response = client.get("/staff/units")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("credit_code", VALID_CODES)
def test_create_unit_each_prefix(client, app, credit_code):
    staff_login(client)
    response = post_form(client, "/staff/units/new", unit_data(credit_code=credit_code))
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "XMJD01"))
        assert unit.credit_code == credit_code
        assert unit.name == "厦门机电设备有限公司"
        assert unit.contact_phone == "0592-1234567"
        assert response.headers["Location"] == f"/staff/units/{unit.id}/admins"


def test_create_unit_normalises_input(client, app):
    staff_login(client)
    response = post_form(
        client, "/staff/units/new", unit_data(code=" xmjd02 ", credit_code="n2350200ma0123456f ")
    )
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "XMJD02"))
        assert unit.credit_code == "N2350200MA0123456F"


def test_create_unit_bad_check_character(client, app):
    staff_login(client)
    response = post_form(client, "/staff/units/new", unit_data(credit_code="11350200MB0123456B"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "统一社会信用代码校验位不正确，请核对营业执照上的代码是否抄错。" in html
    assert 'value="厦门机电设备有限公司"' in html
    with app.app_context():
        assert unit_count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (unit_data(code="XM-01"), "单位编码只能由2至32位大写字母或数字组成"),
        (unit_data(code="DEMO"), "单位编码 DEMO 已被“厦门示范机电设备有限公司”使用"),
        (unit_data(contact_phone="call me"), "联系电话只能包含数字"),
        (unit_data(name=""), "请填写单位名称"),
    ],
)
def test_create_unit_rejects(client, app, data, message):
    staff_login(client)
    html = post_form(client, "/staff/units/new", data).get_data(as_text=True)
    assert message in html
    with app.app_context():
        assert unit_count() == 1


def test_create_unit_duplicate_credit_code(client, app):
    staff_login(client)
    post_form(client, "/staff/units/new", unit_data())
    html = post_form(client, "/staff/units/new", unit_data(code="XMJD09")).get_data(as_text=True)
    assert "该统一社会信用代码已登记为“厦门机电设备有限公司”" in html
    with app.app_context():
        assert unit_count() == 2


def test_edit_unit(client, app):
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
    staff_login(client)
    url = f"/staff/units/{unit_id}/edit"
    form_html = client.get(url).get_data(as_text=True)
    assert 'value="厦门示范机电设备有限公司"' in form_html
    response = post_form(
        client,
        url,
        unit_data(code="DEMO", credit_code="91350200MA2XN8QK7N", name="厦门示范机电（新）"),
    )
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        assert unit.name == "厦门示范机电（新）"
        assert unit.credit_code == "91350200MA2XN8QK7N"


def test_edit_unit_bad_code_changes_nothing(client, app):
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
    staff_login(client)
    post_form(
        client,
        f"/staff/units/{unit_id}/edit",
        unit_data(code="DEMO", credit_code="91350200MA2XN8QK7B", name="改名"),
    )
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        assert unit.name == "厦门示范机电设备有限公司"


def test_unit_list_filter_and_columns(client, app):
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    staff_login(client)
    html = client.get("/staff/units", query_string={"q": "other"}).get_data(as_text=True)
    rows = re.findall(r'<tr data-unit-id="\d+">(.*?)</tr>', html, re.S)
    assert len(rows) == 1
    assert "<td>OTHER测试单位</td>" in rows[0]
    all_rows = re.findall(
        r'<tr data-unit-id="\d+">', client.get("/staff/units").get_data(as_text=True)
    )
    assert len(all_rows) == 2
    by_name = client.get("/staff/units", query_string={"q": "示范"}).get_data(as_text=True)
    assert "厦门示范机电设备有限公司" in by_name
    assert "OTHER测试单位" not in by_name


def test_unit_list_pages(client, app):
    with app.app_context():
        for number in range(11):
            create_unit_with_admin(f"U{number:02d}", f"admin{number:02d}")
    staff_login(client)
    html = client.get("/staff/units", query_string={"page": 2}).get_data(as_text=True)
    assert "第2/2页 总共12条" in html
    assert len(re.findall(r'<tr data-unit-id="\d+">', html)) == 2


def test_create_unit_admin(client, app):
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
    staff_login(client)
    url = f"/staff/units/{unit_id}/admins"
    response = post_form(
        client,
        url,
        {
            "username": "demo_second",
            "display_name": "王芳",
            "password": "longpass1",
            "confirm": "longpass1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "demo_second"))
        assert user.role == Role.UNIT_ADMIN
        assert user.unit_id == unit_id
        assert user.check_password("longpass1")
    token = extract_csrf(client.get(url).get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert login(client, "demo_second", "longpass1").status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"username": "demo_admin", "password": "longpass1", "confirm": "longpass1"},
            "账号 demo_admin 已存在",
        ),
        (
            {"username": "DEMO_ADMIN", "password": "longpass1", "confirm": "longpass1"},
            "账号 DEMO_ADMIN 已存在",
        ),
        ({"username": "new_one", "password": "short", "confirm": "short"}, "密码至少8位"),
        (
            {"username": "new_one", "password": "longpass1", "confirm": "longpass2"},
            "两次填写的密码不一致",
        ),
        (
            {"username": "a b", "password": "longpass1", "confirm": "longpass1"},
            "账号只能由3至64位字母",
        ),
    ],
)
def test_create_unit_admin_rejects(client, app, data, message):
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
    staff_login(client)
    html = post_form(
        client, f"/staff/units/{unit_id}/admins", {"display_name": "王芳", **data}
    ).get_data(as_text=True)
    assert message in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 3


def test_reset_password(client, app):
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.username == "demo_admin"))
    staff_login(client)
    response = post_form(
        client,
        f"/staff/accounts/{admin_id}/password",
        {"password": "newsecret9", "confirm": "newsecret9"},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, admin_id)
        assert user.check_password("newsecret9")
        assert not user.check_password("demo123")


def test_disable_and_enable_account(client, app):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        admin_id, unit_id = admin.id, admin.unit_id
    staff_login(client)
    page = f"/staff/units/{unit_id}/admins"
    token = extract_csrf(client.get(page).get_data(as_text=True))

    client.post(f"/staff/accounts/{admin_id}/active", data={"csrf_token": token, "active": "0"})
    with app.app_context():
        assert db.session.get(User, admin_id).is_active_account is False
    html = client.get(page).get_data(as_text=True)
    assert "<td>已停用</td>" in html

    client.post(f"/staff/accounts/{admin_id}/active", data={"csrf_token": token, "active": "1"})
    with app.app_context():
        assert db.session.get(User, admin_id).is_active_account is True


def test_disabled_admin_cannot_log_in(client, app):
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        admin.is_active_account = False
        db.session.commit()
    response = login(client, "demo_admin", "demo123")
    assert "该账号已停用" in response.get_data(as_text=True)


def test_staff_cannot_disable_self(client, app):
    with app.app_context():
        reviewer_id = db.session.scalar(select(User.id).where(User.username == "reviewer"))
    staff_login(client)
    token = extract_csrf(client.get("/staff/users").get_data(as_text=True))
    response = client.post(
        f"/staff/accounts/{reviewer_id}/active",
        data={"csrf_token": token, "active": "0"},
        follow_redirects=True,
    )
    assert "不能停用当前登录的账号。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, reviewer_id).is_active_account is True
