"""Trainee accounts: activation codes, activation, log-in by ID number, and what they may do."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, Role, Trainee, User, now
from app.models.clock import set_offset
from tests.conftest import create_unit_with_admin, extract_csrf, login
from tests.test_enrollments_list import add_enrollment, demo_unit

ID_NUMBER = "350623199112042011"
OTHER_ID_NUMBER = "110101199003077777"


@pytest.fixture
def trainees(app):
    """王东 with two enrollments and 夏文娟 with one, all in the demo unit."""
    with app.app_context():
        unit = demo_unit()
        first = add_enrollment(unit, "王东", ID_NUMBER, project="电梯", minutes=1)
        second = add_enrollment(unit, "王东", ID_NUMBER, project="锅炉", minutes=2)
        other = add_enrollment(unit, "夏文娟", OTHER_ID_NUMBER, minutes=3)
        return {
            "trainee": first.trainee_id,
            "enrollments": [first.id, second.id],
            "other_trainee": other.trainee_id,
            "other_enrollment": other.id,
        }


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    set_offset(timedelta(0))


def issue_code(client, trainee_id: int) -> str:
    token = extract_csrf(client.get("/trainees/").get_data(as_text=True))
    response = client.post(f"/trainees/{trainee_id}/activation-code", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(
        r'data-testid="activation-code">([A-Z0-9-]+)<', response.get_data(as_text=True)
    )
    return match.group(1)


def activate(client, id_number: str, code: str, password: str = "Trainee2026", confirm=None):
    token = extract_csrf(client.get("/activate").get_data(as_text=True))
    return client.post(
        "/activate",
        data={
            "csrf_token": token,
            "id_number": id_number,
            "code": code,
            "password": password,
            "confirm": confirm or password,
        },
        follow_redirects=True,
    )


def trainee_login(client, id_number: str, password: str):
    token = extract_csrf(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login",
        data={
            "csrf_token": token,
            "role": Role.TRAINEE,
            "username": id_number,
            "password": password,
        },
        follow_redirects=True,
    )


def test_code_is_shown_once_and_stored_hashed(app, trainees):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code)
    with app.app_context():
        account = db.session.scalar(select(User).where(User.trainee_id == trainees["trainee"]))
        assert account.role == Role.TRAINEE
        assert account.password_hash == ""
        assert code.replace("-", "") not in account.activation_code_hash
        assert account.activation_expires_at > now()
    listing = admin.get("/trainees/").get_data(as_text=True)
    assert code not in listing
    assert "待激活" in listing


def test_activation_then_login_with_id_number(app, trainees):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])

    trainee = app.test_client()
    html = activate(trainee, ID_NUMBER, code.lower().replace("-", " ")).get_data(as_text=True)
    assert "账号已激活" in html
    assert "我的报名" in html

    # The code works once only.
    fresh = app.test_client()
    html = activate(fresh, ID_NUMBER, code).get_data(as_text=True)
    assert "证件号或激活码不正确" in html

    html = trainee_login(fresh, ID_NUMBER, "Trainee2026").get_data(as_text=True)
    assert "我的报名" in html
    assert "王东" in html and "夏文娟" not in html


def test_expired_code_is_refused(app, trainees):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])
    set_offset(timedelta(hours=app.config["ACTIVATION_CODE_HOURS"], minutes=1))
    html = activate(app.test_client(), ID_NUMBER, code).get_data(as_text=True)
    assert "激活码已过期，请联系单位管理员重新生成激活码。" in html
    with app.app_context():
        account = db.session.scalar(select(User).where(User.trainee_id == trainees["trainee"]))
        assert account.activated_at is None


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1", "密码至少 8 位"),
        ("onlyletters", "密码须同时包含字母和数字"),
        ("x" + ID_NUMBER, "密码不能包含证件号"),
    ],
)
def test_weak_passwords_refused(app, trainees, password, message):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])
    html = activate(app.test_client(), ID_NUMBER, code, password).get_data(as_text=True)
    assert message in html


def test_mismatched_confirmation_refused(app, trainees):
    html = activate(app.test_client(), ID_NUMBER, "ABCD-EFGH", "Trainee2026", "Trainee2027")
    assert "两次输入的密码不一致" in html.get_data(as_text=True)


def test_guessing_codes_locks_the_account(app, trainees):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])
    guesser = app.test_client()
    for _ in range(5):
        activate(guesser, ID_NUMBER, "WRNG-CODE")
    html = activate(guesser, ID_NUMBER, code).get_data(as_text=True)
    assert "账号已锁定" in html


def test_unactivated_trainee_cannot_log_in(app, trainees):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    issue_code(admin, trainees["trainee"])
    html = trainee_login(app.test_client(), ID_NUMBER, "anything1").get_data(as_text=True)
    assert "证件号或密码错误，请重新输入。首次登录请先点击“学员激活”" in html


def activated_trainee(app, trainees):
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])
    client = app.test_client()
    activate(client, ID_NUMBER, code)
    return client


def test_trainee_sees_only_own_enrollments(app, trainees):
    client = activated_trainee(app, trainees)
    for enrollment_id in trainees["enrollments"]:
        assert client.get(f"/enrollments/{enrollment_id}/steps/1").status_code == 200
    other = trainees["other_enrollment"]
    assert client.get(f"/enrollments/{other}").status_code == 404
    assert client.get(f"/enrollments/{other}/steps/4").status_code == 404
    assert client.get(f"/enrollments/{other}/application-form.pdf").status_code == 404


def test_trainee_cannot_submit_delete_or_manage(app, trainees):
    client = activated_trainee(app, trainees)
    enrollment_id = trainees["enrollments"][0]
    token = extract_csrf(client.get(f"/enrollments/{enrollment_id}/steps/4").get_data(as_text=True))
    assert (
        client.post(f"/enrollments/{enrollment_id}/submit", data={"csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(f"/enrollments/{enrollment_id}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    assert client.post("/enrollments/submit", data={"csrf_token": token}).status_code == 403
    assert client.get("/trainees/").status_code == 403
    assert client.get("/trainees/enroll").status_code == 403
    assert client.get("/imports/upload").status_code == 403
    assert client.get("/inbox/").status_code == 403

    # The step-4 submit button is not there, and posting it anyway does not submit.
    html = client.get(f"/enrollments/{enrollment_id}/steps/4").get_data(as_text=True)
    assert 'name="submit"' not in html
    response = client.post(
        f"/enrollments/{enrollment_id}/steps/4",
        data={"csrf_token": token, "commitment": "y", "submit": "提交"},
        follow_redirects=True,
    )
    assert "学员不能提交报名" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Enrollment, enrollment_id).status == EnrollmentStatus.DRAFT


def test_trainee_edits_personal_step(app, trainees):
    client = activated_trainee(app, trainees)
    enrollment_id = trainees["enrollments"][1]
    token = extract_csrf(client.get(f"/enrollments/{enrollment_id}/steps/1").get_data(as_text=True))
    response = client.post(
        f"/enrollments/{enrollment_id}/steps/1",
        data={"csrf_token": token, "next": "x", "phone": "13906001122", "education": "大专"},
    )
    assert response.headers["Location"].endswith("/steps/2")
    with app.app_context():
        assert db.session.get(Trainee, trainees["trainee"]).phone == "13906001122"


def test_other_unit_cannot_issue_code(app, trainees):
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    client = app.test_client()
    login(client, "other_admin", "secret123")
    token = extract_csrf(client.get("/trainees/").get_data(as_text=True))
    response = client.post(
        f"/trainees/{trainees['trainee']}/activation-code", data={"csrf_token": token}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(User).where(User.trainee_id == trainees["trainee"])) is None


def test_reissued_code_resets_password(app, trainees):
    client = activated_trainee(app, trainees)
    admin = app.test_client()
    login(admin, "demo_admin", "demo123")
    code = issue_code(admin, trainees["trainee"])
    # The old password still works until the new code is used.
    assert "我的报名" in trainee_login(app.test_client(), ID_NUMBER, "Trainee2026").get_data(
        as_text=True
    )
    activate(app.test_client(), ID_NUMBER, code, "NewPass2027")
    assert "证件号或密码错误" in trainee_login(
        app.test_client(), ID_NUMBER, "Trainee2026"
    ).get_data(as_text=True)
    assert "我的报名" in trainee_login(app.test_client(), ID_NUMBER, "NewPass2027").get_data(
        as_text=True
    )
    del client


def test_full_width_id_number_logs_in(app, trainees):
    activated_trainee(app, trainees)
    full_width = ID_NUMBER.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    html = trainee_login(app.test_client(), full_width, "Trainee2026").get_data(as_text=True)
    assert "我的报名" in html


def test_locked_trainee_told_to_ask_unit_admin(app, trainees):
    activated_trainee(app, trainees)
    client = app.test_client()
    for _ in range(5):
        trainee_login(client, ID_NUMBER, "WrongPass99")
    html = trainee_login(client, ID_NUMBER, "Trainee2026").get_data(as_text=True)
    assert "密码或激活码连续输错 5 次" in html
    assert "请联系本单位管理员重新生成激活码" in html
