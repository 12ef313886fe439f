"""账号管理: staff accounts and their group membership."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Group, GroupKind, Role, User
from app.seed import REVIEWER_GROUP, UNIT_GROUP
from tests.conftest import extract_csrf, login

SECOND_GROUP = "协会财务"


@pytest.fixture
def second_group(app):
    with app.app_context():
        db.session.add(Group(name=SECOND_GROUP, kind=GroupKind.STAFF))
        db.session.commit()


def staff_login(client):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)


def group_names(username: str) -> list[str]:
    user = db.session.scalar(select(User).where(User.username == username))
    return sorted(group.name for group in user.groups)


def test_users_lists_staff_only(client):
    staff_login(client)
    html = client.get("/staff/users").get_data(as_text=True)
    rows = re.findall(r'<tr data-user-id="\d+">(.*?)</tr>', html, re.S)
    usernames = [re.findall(r"<td>(.*?)</td>", row)[1] for row in rows]
    assert usernames == ["reviewer", "owner"]
    assert f"<td>{REVIEWER_GROUP}</td>" in rows[0]


def test_create_staff_in_two_groups(client, app, second_group):
    staff_login(client)
    url = "/staff/users/new"
    page = client.get(url).get_data(as_text=True)
    assert f'value="{SECOND_GROUP}"' in page
    assert f'value="{UNIT_GROUP}"' not in page
    response = client.post(
        url,
        data={
            "csrf_token": extract_csrf(page),
            "username": "finance1",
            "display_name": "赵财务",
            "password": "longpass1",
            "confirm": "longpass1",
            "groups": [REVIEWER_GROUP, SECOND_GROUP],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "finance1"))
        assert user.role == Role.STAFF
        assert user.unit_id is None
        assert group_names("finance1") == sorted([REVIEWER_GROUP, SECOND_GROUP])


def test_create_staff_needs_group(client, app):
    staff_login(client)
    url = "/staff/users/new"
    token = extract_csrf(client.get(url).get_data(as_text=True))
    html = client.post(
        url,
        data={
            "csrf_token": token,
            "username": "finance1",
            "display_name": "赵财务",
            "password": "longpass1",
            "confirm": "longpass1",
        },
    ).get_data(as_text=True)
    assert "请至少选择一个分组" in html
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "finance1")) is None


def test_create_staff_rejects_unit_group(client, app):
    staff_login(client)
    url = "/staff/users/new"
    token = extract_csrf(client.get(url).get_data(as_text=True))
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "username": "finance1",
            "display_name": "赵财务",
            "password": "longpass1",
            "confirm": "longpass1",
            "groups": [UNIT_GROUP],
        },
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "finance1")) is None


def test_set_groups(client, app, second_group):
    with app.app_context():
        reviewer_id = db.session.scalar(select(User.id).where(User.username == "reviewer"))
    staff_login(client)
    url = f"/staff/users/{reviewer_id}/groups"
    page = client.get(url).get_data(as_text=True)
    checked = re.findall(r'<input checked[^>]*value="([^"]+)"', page)
    assert checked == [REVIEWER_GROUP]
    response = client.post(
        url, data={"csrf_token": extract_csrf(page), "groups": [REVIEWER_GROUP, SECOND_GROUP]}
    )
    assert response.status_code == 302
    with app.app_context():
        assert group_names("reviewer") == sorted([REVIEWER_GROUP, SECOND_GROUP])

    response = client.post(url, data={"csrf_token": extract_csrf(page), "groups": [SECOND_GROUP]})
    with app.app_context():
        assert group_names("reviewer") == [SECOND_GROUP]


def test_set_groups_of_unit_admin_rejected(client, app):
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.username == "demo_admin"))
    staff_login(client)
    response = client.get(f"/staff/users/{admin_id}/groups", follow_redirects=True)
    assert "单位管理员账号不能设置协会分组。" in response.get_data(as_text=True)
    with app.app_context():
        assert group_names("demo_admin") == []


def test_staff_nav_links(client):
    staff_login(client)
    html = client.get("/staff/users").get_data(as_text=True)
    assert 'href="/staff/units">单位管理</a>' in html
    assert 'href="/staff/catalog">培训目录</a>' in html
    assert 'href="/staff/users">账号管理</a>' in html
