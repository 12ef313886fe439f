"""The 48-hour hold: per-order APScheduler jobs in the database, the timer and the sweep."""

import time
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from app.extensions import db
from app.models import Enrollment
from app.models.clock import set_offset
from app.models.payment import AttemptStatus, Order, OrderStatus, SandboxTrade
from app.payments import hold
from scheduler import jobs
from tests.conftest import login
from tests.payment_support import ID_NUMBERS, add_approved, demo_unit, place_order
from tests.test_payments_orders import choose_method, open_attempts, order_id_from


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    set_offset(timedelta(0))


@pytest.fixture
def admin(client):
    login(client, "demo_admin", "demo123")
    return client


@pytest.fixture
def approved(app):
    with app.app_context():
        unit = demo_unit()
        return [add_approved(unit, f"学员{i}", ID_NUMBERS[i]).id for i in range(3)]


def order_state(app, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        held = sorted(
            e.id
            for e in db.session.scalars(
                select(Enrollment).where(Enrollment.pending_order_id == order_id)
            )
        )
        return order.status, order.cancel_reason, held


def test_placing_an_order_stores_its_cancellation_job(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:1]))
    with app.app_context():
        assert hold.scheduled_job_ids() == [f"order-expiry-{order_id}"]
        order = db.session.get(Order, order_id)
        scheduler = BackgroundScheduler(
            jobstores={"default": hold.SQLAlchemyJobStore(engine=db.engine)},
            timezone="Asia/Shanghai",
        )
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job(f"order-expiry-{order_id}")
            assert job.args == (order_id,)
            assert job.func_ref == "scheduler.jobs:expire_order"
            # Real time, Asia/Shanghai, 48 hours after the order was placed.
            assert job.next_run_time.replace(tzinfo=None) == order.expires_at
        finally:
            scheduler.shutdown(wait=False)


def test_timer_before_the_hold_ends_leaves_the_order(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:2]))
    set_offset(timedelta(hours=47, minutes=59))
    with app.app_context():
        assert hold.expire_order(order_id) == "not_expired"
    assert order_state(app, order_id) == ("pending", "", approved[:2])


def test_timer_after_48_hours_cancels_and_frees_enrollments(app, admin, approved):
    order_id = order_id_from(place_order(admin, approved[:2]))
    choose_method(admin, order_id, "sandbox-wechat")
    set_offset(timedelta(hours=48, seconds=1))
    with app.app_context():
        assert hold.expire_order(order_id) == "cancelled"
        [attempt] = open_attempts(app, order_id)
        assert attempt.status == AttemptStatus.CLOSED
        assert db.session.get(SandboxTrade, attempt.out_trade_no).state == "closed"
        # Running again (a second delivery of the job) changes nothing.
        assert hold.expire_order(order_id) == "already_cancelled"
    assert order_state(app, order_id) == ("cancelled", "超过48小时未付款，系统自动取消", [])


def test_timer_finds_the_order_paid_at_the_provider(app, admin, approved):
    from app.payments.registry import provider

    order_id = order_id_from(place_order(admin, approved[:1]))
    choose_method(admin, order_id, "sandbox-alipay")
    [attempt] = open_attempts(app, order_id)
    with app.test_request_context():
        assert provider("sandbox-alipay").pay(attempt.out_trade_no) is not None  # no notice yet
    set_offset(timedelta(hours=49))
    with app.app_context():
        assert hold.expire_order(order_id) == "paid"
    assert order_state(app, order_id)[0] == "paid"


def test_sweep_cancels_only_expired_orders(app, admin, approved):
    first = order_id_from(place_order(admin, approved[:1]))
    second = order_id_from(place_order(admin, approved[1:2]))
    choose_method(admin, second, "sandbox-wechat")
    set_offset(timedelta(hours=24))
    third = order_id_from(place_order(admin, approved[2:]))
    set_offset(timedelta(hours=48, minutes=1))
    with app.app_context():
        assert hold.sweep_expired_orders() == 2
    assert order_state(app, first)[0] == "cancelled"
    assert order_state(app, second)[0] == "cancelled"
    assert order_state(app, third) == ("pending", "", [approved[2]])


def test_hold_length_is_a_setting(app, admin, approved):
    app.config["ORDER_HOLD_HOURS"] = 0.5
    try:
        order_id = order_id_from(place_order(admin, approved[:1]))
        with app.app_context():
            order = db.session.get(Order, order_id)
            assert order.expires_at - order.placed_at == timedelta(minutes=30)
        page = admin.get(f"/orders/{order_id}/pay").get_data(as_text=True)
        assert "该订单会为您保留0.5小时" in page
    finally:
        app.config["ORDER_HOLD_HOURS"] = 48.0


def test_scheduler_process_fires_the_stored_job(app, admin, approved):
    """A real scheduler over the job store runs the order's job when it falls due."""
    app.config["ORDER_HOLD_HOURS"] = 2 / 3600  # two seconds
    try:
        order_id = order_id_from(place_order(admin, approved[:1]))
    finally:
        app.config["ORDER_HOLD_HOURS"] = 48.0
    jobs.bind_app(app)
    with app.app_context():
        scheduler = BackgroundScheduler(
            jobstores={"default": hold.SQLAlchemyJobStore(engine=db.engine)},
            timezone="Asia/Shanghai",
        )
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and order_state(app, order_id)[0] == "pending":
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    assert order_state(app, order_id)[0] == OrderStatus.CANCELLED
    with app.app_context():
        assert hold.scheduled_job_ids() == []  # a date job is removed once it ran
