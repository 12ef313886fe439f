"""The process model versions page (流程管理)."""

from app.models import Role
from tests.conftest import login


def test_staff_sees_loaded_versions(client):
    login(client, "owner", "owner123", role=Role.PROCESS_OWNER)
    page = client.get("/processes/").get_data(as_text=True)
    assert "enrollment_review" in page
    assert "v1" in page


def test_unit_admin_is_forbidden(client):
    login(client, "demo_admin", "demo123")
    assert client.get("/processes/").status_code == 403


def test_unknown_version_is_404(client):
    login(client, "reviewer", "reviewer123", role=Role.STAFF)
    assert client.get("/processes/999999.bpmn").status_code == 404
