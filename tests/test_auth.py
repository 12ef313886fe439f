"""Log-in with role choice, wrong passwords and role mismatch."""

from urllib.parse import urlencode

import pytest

from app.models import Role
from tests.conftest import extract_csrf, login


def test_unit_admin_logs_in(client):
    response = login(client, "demo_admin", "demo123")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/enrollments/")


def test_wrong_password_is_rejected(client):
    response = login(client, "demo_admin", "wrong")
    assert response.status_code == 200
    assert "账号或密码错误" in response.get_data(as_text=True)


def test_staff_cannot_log_in_as_unit(client):
    response = login(client, "reviewer", "reviewer123", role=Role.UNIT_ADMIN)
    assert response.status_code == 200
    assert "该账号不属于所选角色" in response.get_data(as_text=True)


def test_staff_logs_in_to_inbox(client):
    response = login(client, "reviewer", "reviewer123", role=Role.STAFF)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inbox/")


def test_login_form_requires_csrf(client):
    response = client.post(
        "/login", data={"role": "unit_admin", "username": "demo_admin", "password": "demo123"}
    )
    assert response.status_code == 400


def test_login_follows_local_next(client):
    page = client.get("/login?next=/enrollments/?page=2")
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post(
        "/login?next=/enrollments/?page=2",
        data={
            "csrf_token": token,
            "role": "unit_admin",
            "username": "demo_admin",
            "password": "demo123",
        },
    )
    assert response.headers["Location"] == "/enrollments/?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/\t/evil.example/x",
        "/\n/evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%09/evil.example",
    ],
)
def test_login_ignores_foreign_next(client, target):
    response = login_with_next(client, target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location in ("/enrollments/", "/%09/evil.example")
    assert "//" not in location


def login_with_next(client, target):
    query = urlencode({"next": target})
    page = client.get(f"/login?{query}")
    token = extract_csrf(page.get_data(as_text=True))
    return client.post(
        f"/login?{query}",
        data={
            "csrf_token": token,
            "role": "unit_admin",
            "username": "demo_admin",
            "password": "demo123",
        },
    )


def test_five_wrong_passwords_lock_account(client):
    for _attempt in range(5):
        login(client, "demo_admin", "wrong")
    response = login(client, "demo_admin", "demo123")
    assert response.status_code == 200
    assert "密码连续输错 5 次，账号已锁定至" in response.get_data(as_text=True)


def test_lock_expires_after_fifteen_minutes(client, app):
    from datetime import timedelta

    from app.models import clock

    for _attempt in range(5):
        login(client, "demo_admin", "wrong")
    clock.set_offset(timedelta(minutes=16))
    try:
        response = login(client, "demo_admin", "demo123")
    finally:
        clock.set_offset(timedelta(0))
    assert response.status_code == 302


def test_success_resets_failure_count(client, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    for _attempt in range(4):
        login(client, "demo_admin", "wrong")
    assert login(client, "demo_admin", "demo123").status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "demo_admin"))
        assert user.failed_logins == 0
