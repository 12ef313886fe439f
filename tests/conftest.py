"""Shared fixtures: one database per test session (SQLite file, or DATABASE_URL), emptied
after every test, and helpers to log in through the real log-in form."""

import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, select, text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Role, Unit, User
from app.seed import REVIEWER_GROUP, load_demo

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
IMPORT_FIXTURES = FIXTURES / "enrollment-import"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A database of this test session's own.

    On PostgreSQL a scratch database is created beside the one DATABASE_URL names, so that
    test runs in parallel (CI beside a developer) never drop each other's tables.
    """
    if not os.environ.get("DATABASE_URL"):
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    server = make_url(TestConfig.SQLALCHEMY_DATABASE_URI)
    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory, database_url):
    tmp_dir = tmp_path_factory.mktemp("platform")
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        IMPORT_DIR=str(tmp_dir / "imports"),
        UPLOAD_DIR=str(tmp_dir / "uploads"),
        IMPORT_INLINE=True,
    )
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(app):
    """Give each test the demo catalog and accounts, and empty every table afterwards."""
    with app.app_context():
        load_demo()
        from workflows.loader import load_process_models

        load_process_models(app.config["BPMN_DIR"])
        db.session.commit()
    yield
    with app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        # APScheduler's job store is not in the metadata; order timers must not outlive a test.
        if inspect(db.engine).has_table("apscheduler_jobs"):
            db.session.execute(text("DELETE FROM apscheduler_jobs"))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def login(client, username: str, password: str, role: str = Role.UNIT_ADMIN):
    """Log in through the real form, CSRF token included."""
    page = client.get("/login")
    token = extract_csrf(page.get_data(as_text=True))
    chosen = Role.UNIT_ADMIN if role == Role.UNIT_ADMIN else "association"
    return client.post(
        "/login",
        data={"csrf_token": token, "role": chosen, "username": username, "password": password},
        follow_redirects=False,
    )


def create_unit_with_admin(code: str, username: str, password: str = "secret123") -> Unit:
    """Create another unit and its admin (call inside an app context)."""
    from app.seed import DEMO_UNIT  # noqa: F401

    credit = {"DEMO": "91350200MA2XN8QK7N"}.get(code, "91350200" + code.ljust(10, "0")[:10])
    unit = Unit(code=code, name=f"{code}测试单位", credit_code=credit)
    db.session.add(unit)
    user = User(username=username, display_name=f"{code}管理员", role=Role.UNIT_ADMIN, unit=unit)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return unit


def create_reviewer(username: str, password: str = "secret123") -> User:
    from app.models import Group

    group = db.session.scalar(select(Group).where(Group.name == REVIEWER_GROUP))
    user = User(username=username, display_name=username, role=Role.STAFF)
    user.set_password(password)
    user.groups.append(group)
    db.session.add(user)
    db.session.commit()
    return user


# --- Browser tests -------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google hosts, which this
# closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Native controls (the file picker's button) in Chinese, as users see them.
    "--lang=zh-CN",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def live_server(app):
    """Serve the test application on a free loopback port in a thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(page, base_url: str, username: str, password: str, role_label: str) -> None:
    """Log in through the page in the browser, choosing the role by its label."""
    page.goto(f"{base_url}/login")
    page.get_by_label(role_label, exact=True).check()
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def log_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()


@pytest.fixture
def screenshot_dir(request) -> Path:
    """A folder for this test's screenshots, kept after the run for a person to look at."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- Complete enrollments ------------------------------------------------------------------


def _small_jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 420), (250, 250, 250)).save(buffer, "JPEG")
    return buffer.getvalue()


def complete_enrollments(enrollments) -> None:
    """Fill in what the four-step form asks for, so that the enrollments can be submitted.

    Writes a small real JPEG per document kind under UPLOAD_DIR (call inside an app context).
    """
    import hashlib
    import secrets
    from pathlib import Path

    from flask import current_app

    from app.models import DocumentKind, EnrollmentDocument, now

    data = _small_jpeg()
    directory = Path(current_app.config["UPLOAD_DIR"]) / "tests"
    directory.mkdir(parents=True, exist_ok=True)
    for enrollment in enrollments:
        unit = enrollment.unit
        unit.address = unit.address or "厦门市思明区测试路 1 号"
        unit.contact_name = unit.contact_name or "测试联系人"
        unit.contact_phone = unit.contact_phone or "0592-5550000"
        enrollment.committed_at = now()
        for kind in DocumentKind.REQUIRED:
            name = secrets.token_hex(8)
            (directory / f"{name}.jpg").write_bytes(data)
            db.session.add(
                EnrollmentDocument(
                    enrollment_id=enrollment.id,
                    kind=kind,
                    token=secrets.token_urlsafe(24),
                    storage_name=f"tests/{name}.jpg",
                    content_type="image/jpeg",
                    byte_size=len(data),
                    width=300,
                    height=420,
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
    db.session.commit()
