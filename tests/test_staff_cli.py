"""``flask units create``, ``flask users create-unit-admin`` and ``flask users create-staff``."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Role, Unit, User
from app.seed import REVIEWER_GROUP


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def create_unit_args(code="XMJD01", credit_code="Y1350200MC0123456E") -> list[str]:
    return [
        "units",
        "create",
        "--code",
        code,
        "--name",
        "厦门机电设备有限公司",
        "--credit-code",
        credit_code,
        "--contact-name",
        "陈红",
        "--contact-phone",
        "0592-1234567",
    ]


def test_units_create(runner, app):
    result = runner.invoke(args=create_unit_args())
    assert result.exit_code == 0, result.output
    assert "Created unit XMJD01" in result.output
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "XMJD01"))
        assert unit.credit_code == "Y1350200MC0123456E"
        assert unit.contact_name == "陈红"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            create_unit_args(credit_code="Y1350200MC0123456A"),
            "Error: Invalid unified social credit code 'Y1350200MC0123456A'.",
        ),
        (
            create_unit_args(code="bad code"),
            "Error: Invalid unit code 'BAD CODE': use 2 to 32 capital letters or digits.",
        ),
        (create_unit_args(code="DEMO"), "Error: The unit code DEMO is already used by unit"),
    ],
)
def test_units_create_rejects(runner, app, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 1


def test_create_unit_admin_with_password(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create-unit-admin",
            "--unit",
            "demo",
            "--username",
            "demo_second",
            "--name",
            "王芳",
            "--password",
            "longpass1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created unit admin demo_second for unit DEMO." in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "demo_second"))
        assert user.role == Role.UNIT_ADMIN
        assert user.unit.code == "DEMO"
        assert user.check_password("longpass1")


def test_create_unit_admin_prompts_password(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create-unit-admin",
            "--unit",
            "DEMO",
            "--username",
            "demo_third",
            "--name",
            "王芳",
        ],
        input="longpass1\nlongpass1\n",
    )
    assert result.exit_code == 0, result.output
    assert "longpass1" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "demo_third"))
        assert user.check_password("longpass1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "NOPE", "--username", "x_admin"], "Error: No unit has the code 'NOPE'."),
        (
            ["--unit", "DEMO", "--username", "demo_admin"],
            "Error: The username demo_admin is already taken.",
        ),
    ],
)
def test_create_unit_admin_rejects(runner, app, args, message):
    result = runner.invoke(
        args=["users", "create-unit-admin", *args, "--name", "王芳", "--password", "longpass1"]
    )
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 3


def test_create_unit_admin_short_password(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create-unit-admin",
            "--unit",
            "DEMO",
            "--username",
            "demo_x",
            "--name",
            "王芳",
            "--password",
            "short",
        ]
    )
    assert result.exit_code == 1
    assert "Error: The password must have at least 8 characters." in result.output


def test_create_staff(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create-staff",
            "--username",
            "reviewer2",
            "--name",
            "钱审核",
            "--group",
            REVIEWER_GROUP,
            "--password",
            "longpass1",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "reviewer2"))
        assert user.role == Role.STAFF
        assert [group.name for group in user.groups] == [REVIEWER_GROUP]


def test_create_staff_unknown_group(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create-staff",
            "--username",
            "reviewer2",
            "--name",
            "钱审核",
            "--group",
            "财务组",
            "--password",
            "longpass1",
        ]
    )
    assert result.exit_code == 1
    assert f"Error: Unknown staff group 财务组; known groups: {REVIEWER_GROUP}." in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "reviewer2")) is None


def test_create_staff_requires_group(runner):
    result = runner.invoke(
        args=[
            "users",
            "create-staff",
            "--username",
            "reviewer2",
            "--name",
            "钱审核",
            "--password",
            "longpass1",
        ]
    )
    assert result.exit_code == 2
    assert "Missing option '--group'" in result.output
