"""Log-in with role choice, wrong passwords and role mismatch."""

from app.models import Role
from tests.conftest import login


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
