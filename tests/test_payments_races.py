"""Settlement under real concurrency on PostgreSQL: payment, timer, cancel, sweep and ordering.

Each racer runs in its own thread and application context, so it has its own session and
database connection. A barrier releases the racers together. Which racer gets the order's row
lock first differs from run to run, so every race is repeated on a fresh order. The invariants
are checked after each round, and the outcome counts are printed (run pytest with -s to see
them).
"""

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, make_url, select

from app.config import TestConfig
from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, Trainee, User
from app.models.clock import now, set_offset
from app.models.payment import (
    AttemptStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
    RefundStatus,
    SandboxTrade,
)
from app.payments import hold, orders
from app.payments.attempts import open_attempt
from app.payments.notifications import handle_notification
from app.payments.registry import provider
from app.payments.settlement import CancelOutcome, PaymentOutcome, cancel_order
from tests.payment_support import demo_unit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        make_url(TestConfig.SQLALCHEMY_DATABASE_URI).get_backend_name() != "postgresql",
        reason="row-lock races need PostgreSQL: set DATABASE_URL=postgresql://...",
    ),
]

SANDBOX = "sandbox-wechat"
ROUNDS = 30
PAST_HOLD = timedelta(hours=48, minutes=1)
USER_CANCEL_REASON = "用户取消订单"
# Each racer sleeps a random 0..MAX_JITTER seconds after the barrier, so the order in which the
# racers reach the database varies more from round to round.
MAX_JITTER = 0.003
SWEEP_JITTER = 0.04
# A racer that has not finished by then is stuck, most likely in a lock wait.
JOIN_TIMEOUT = 30.0
RANDOM_SEED = 20240601

# Messages of orders.OrderError that a losing place_order may raise.
TAKEN_MEANWHILE = "所选报名中有的刚被加入其他订单，请返回缴费管理刷新后重新选择。"
PARTLY_HELD = "所选报名中有的已在其他待付款订单中或已缴费，请返回缴费管理刷新后重新选择。"

_passport_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _reset_clock():
    set_offset(timedelta(0))
    yield
    set_offset(timedelta(0))


# --- Running racers ------------------------------------------------------------------------


def run_together(
    app, racers: dict[str, Callable[[], object]], rng: random.Random, jitter: float = MAX_JITTER
) -> dict[str, object]:
    """Run each racer in its own thread and application context, all released by one barrier.

    Returns each racer's result by name. Re-raises the first exception a racer raised.
    """
    barrier = threading.Barrier(len(racers))
    delays = {name: rng.uniform(0, jitter) for name in racers}
    results: dict[str, object] = {}
    errors: dict[str, BaseException] = {}

    def run(name: str, racer: Callable[[], object]) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                time.sleep(delays[name])
                results[name] = racer()
            except BaseException as error:  # handed to the main thread below
                errors[name] = error

    threads = [
        threading.Thread(target=run, args=(name, racer), name=f"racer-{name}")
        for name, racer in racers.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"racers still running after {JOIN_TIMEOUT} s: {stuck}"
    for name, error in errors.items():
        raise AssertionError(f"racer {name} raised {error!r}") from error
    return results


def deliver(signed: tuple[dict[str, str], bytes]) -> int:
    """Deliver a signed sandbox notification; return the HTTP status code of the response."""
    headers, body = signed
    _, status, _ = handle_notification(SANDBOX, headers, body)
    return status


def pay_and_notify(out_trade_no: str) -> int | None:
    """Pay the QR code at the sandbox and deliver its notification.

    Returns the HTTP status code of the response, or None when the QR code was closed before
    the payment.
    """
    signed = provider(SANDBOX).pay(out_trade_no)
    if signed is None:
        return None
    return deliver(signed)


def place_for(enrollment_ids: list[int]) -> int | str:
    """Place an order as the demo unit's admin; return its id, or the OrderError message."""
    try:
        return orders.place_order(
            demo_unit(), enrollment_ids, orders.InvoiceDetails(), demo_admin()
        ).id
    except orders.OrderError as error:
        return error.message


# --- Setting up a round (inside app.test_request_context()) --------------------------------


def demo_admin() -> User:
    return db.session.scalar(select(User).where(User.username == "demo_admin"))


def approved_enrollment_ids(count: int) -> list[int]:
    """Create approved, unpaid 电梯 enrollments of the demo unit, each for a new trainee."""
    unit = demo_unit()
    enrollments = []
    for _ in range(count):
        number = next(_passport_numbers)
        trainee = Trainee(
            unit_id=unit.id,
            name=f"学员{number}",
            id_type="护照",
            id_number=f"E{number:08d}",
            gender="男",
            phone="13800000000",
            education="大专",
        )
        enrollment = Enrollment(
            unit_id=unit.id,
            trainee=trainee,
            position="安全员",
            training_type="特种设备使用单位",
            training_project="电梯",
            organization="厦门市特种设备协会",
            status=EnrollmentStatus.APPROVED,
            decided_at=now(),
        )
        db.session.add(enrollment)
        enrollments.append(enrollment)
    db.session.commit()
    return [enrollment.id for enrollment in enrollments]


def place_pending_order(enrollment_count: int) -> int:
    order_id = place_for(approved_enrollment_ids(enrollment_count))
    assert isinstance(order_id, int), order_id
    return order_id


def open_qr(order_id: int) -> str:
    """Open a sandbox QR code for the order; return its merchant order number."""
    attempt = open_attempt(order_id, SANDBOX)
    assert attempt is not None
    return attempt.out_trade_no


def pay_at_sandbox(out_trade_no: str) -> tuple[dict[str, str], bytes]:
    """Take the money at the sandbox now; return the notification, not yet delivered."""
    signed = provider(SANDBOX).pay(out_trade_no)
    assert signed is not None, f"sandbox refused to pay {out_trade_no}"
    return signed


# --- Invariants (inside an app context, after every racer has finished) --------------------


def assert_settled(order_id: int) -> str:
    """Assert the invariants of an order every racer has finished with; return its status."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order.status in (OrderStatus.PAID, OrderStatus.CANCELLED), (order.number, order.status)
    enrollments = [item.enrollment for item in order.items]
    assert enrollments, f"order {order.number} has no items"

    if order.status == OrderStatus.PAID:
        assert order.paid_at is not None
        assert order.cancelled_at is None
        assert order.cancel_reason == ""
        for enrollment in enrollments:
            assert enrollment.payment_status == PaymentStatus.PAID, enrollment.id
            assert enrollment.paid_order_id == order.id, enrollment.id
            assert enrollment.pending_order_id is None, enrollment.id
    else:
        assert order.paid_at is None
        assert order.cancelled_at is not None
        for enrollment in enrollments:
            assert enrollment.payment_status == PaymentStatus.UNPAID, enrollment.id
            assert enrollment.paid_order_id is None, enrollment.id
            assert enrollment.pending_order_id is None, enrollment.id

    assert_money_recorded(order)
    assert_notifications_have_outcomes(order)
    # A settled order stays settled: cancelling it again changes nothing.
    expected = (
        CancelOutcome.ALREADY_PAID
        if order.status == OrderStatus.PAID
        else CancelOutcome.ALREADY_CANCELLED
    )
    status = order.status
    assert cancel_order(order_id, USER_CANCEL_REASON) == expected
    assert db.session.get(Order, order_id).status == status
    return status


def assert_money_recorded(order: Order) -> None:
    """Money the sandbox took is on a paid attempt. Only the settling attempt is not refunded."""
    # NOTE: the sandbox closes and pays a trade by conditional updates of one row, so these
    # races never end with a cancelled order whose money was taken. That refund case is
    # checked here but never reached.
    for attempt in order.attempts:
        trade = db.session.get(SandboxTrade, attempt.out_trade_no)
        assert attempt.status != AttemptStatus.OPEN, f"{attempt.out_trade_no} left open"
        if trade.state == "paid":
            assert attempt.status == AttemptStatus.PAID, f"money lost on {attempt.out_trade_no}"
            assert attempt.transaction_id == trade.transaction_id
            assert attempt.paid_fen == trade.amount_fen
        else:
            assert trade.state == "closed", (attempt.out_trade_no, trade.state)
            assert attempt.status == AttemptStatus.CLOSED, attempt.out_trade_no

    paid = [a for a in order.attempts if a.status == AttemptStatus.PAID]
    settling = [a for a in paid if a.refund_status == RefundStatus.NONE]
    refunding = [a for a in paid if a.refund_status == RefundStatus.PENDING]
    assert len(settling) + len(refunding) == len(paid)
    if order.status == OrderStatus.PAID:
        assert len(settling) == 1, [a.out_trade_no for a in settling]
    else:
        assert settling == [], [a.out_trade_no for a in settling]


def assert_notifications_have_outcomes(order: Order) -> None:
    for notification in db.session.scalars(notifications_of(order.id)):
        assert notification.outcome in (
            PaymentOutcome.PAID,
            PaymentOutcome.DUPLICATE,
            PaymentOutcome.LATE,
        ), (notification.id, notification.outcome, notification.detail)


def notifications_of(order_id: int):
    return (
        select(PaymentNotification)
        .join(PaymentAttempt, PaymentNotification.attempt_id == PaymentAttempt.id)
        .where(PaymentAttempt.order_id == order_id)
        .order_by(PaymentNotification.id)
    )


def notification_outcomes(order_id: int) -> list[str]:
    return [n.outcome for n in db.session.scalars(notifications_of(order_id))]


def notification_count() -> int:
    return db.session.scalar(select(func.count()).select_from(PaymentNotification))


def report(title: str, counts: Counter) -> None:
    print(f"\n{title}: " + ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))


# --- The races -----------------------------------------------------------------------------


def test_notification_timer_and_cancel_race(app):
    """A payment, the 48-hour timer and the user's cancel on one order with an open QR code.

    Odd rounds take the money at the sandbox before the race, so only the notification races.
    Even rounds pay in the racer, so the close made by the timer or the cancel can come first.
    """
    rng = random.Random(RANDOM_SEED)
    winners = Counter()
    deliveries = 0
    for round_number in range(ROUNDS):
        set_offset(timedelta(0))
        with app.test_request_context():
            order_id = place_pending_order(2)
            out_trade_no = open_qr(order_id)
            money_first = round_number % 2 == 1
            signed = pay_at_sandbox(out_trade_no) if money_first else None
        set_offset(PAST_HOLD)

        payment = partial(deliver, signed) if money_first else partial(pay_and_notify, out_trade_no)
        results = run_together(
            app,
            {
                "payment": payment,
                "timer": partial(hold.expire_order, order_id),
                "user": partial(cancel_order, order_id, USER_CANCEL_REASON),
            },
            rng,
        )

        with app.app_context():
            status = assert_settled(order_id)
            outcomes = notification_outcomes(order_id)
            money_taken = results["payment"] is not None
            if money_taken:
                deliveries += 1
                assert results["payment"] == 200
            assert notification_count() == deliveries

        closers = [
            n
            for n in ("timer", "user")
            if results[n] in (CancelOutcome.CANCELLED, CancelOutcome.PAID)
        ]
        paid_by_notification = outcomes.count(PaymentOutcome.PAID)
        assert len(closers) + paid_by_notification == 1, (results, outcomes)
        already = (
            CancelOutcome.ALREADY_PAID
            if status == OrderStatus.PAID
            else CancelOutcome.ALREADY_CANCELLED
        )
        for name in ("timer", "user"):
            if name not in closers:
                assert results[name] == already, (name, results)

        if money_taken:
            assert status == OrderStatus.PAID
            if closers:
                assert results[closers[0]] == CancelOutcome.PAID
                assert outcomes == [PaymentOutcome.DUPLICATE]
            else:
                assert outcomes == [PaymentOutcome.PAID]
        else:
            assert not money_first
            assert status == OrderStatus.CANCELLED
            assert results[closers[0]] == CancelOutcome.CANCELLED
            assert outcomes == []

        settled_by = closers[0] if closers else "notification"
        variant = "money before race" if money_first else "money in race"
        winners[f"{variant}: {status} by {settled_by}"] += 1

    assert sum(winners.values()) == ROUNDS
    report(f"notification/timer/cancel over {ROUNDS} rounds", winners)


def test_duplicate_notifications_record_one_payment(app):
    rng = random.Random(RANDOM_SEED + 1)
    outcomes_seen = Counter()
    for round_number in range(ROUNDS):
        with app.test_request_context():
            order_id = place_pending_order(1)
            signed = pay_at_sandbox(open_qr(order_id))

        results = run_together(
            app, {"first": partial(deliver, signed), "second": partial(deliver, signed)}, rng
        )

        assert results == {"first": 200, "second": 200}
        with app.app_context():
            assert assert_settled(order_id) == OrderStatus.PAID
            outcomes = notification_outcomes(order_id)
            assert sorted(outcomes) == [PaymentOutcome.DUPLICATE, PaymentOutcome.PAID]
            assert notification_count() == 2 * (round_number + 1)
        # The duplicate's audit row comes first only when the duplicate was recorded between
        # the payment's commit and its audit row, so the two deliveries overlapped.
        outcomes_seen[f"first audit row {outcomes[0]}"] += 1

    report(f"duplicate notifications over {ROUNDS} rounds", outcomes_seen)


def test_two_orders_for_one_enrollment(app):
    """Same enrollment in both orders (even rounds), or one shared of two each (odd rounds)."""
    rng = random.Random(RANDOM_SEED + 2)
    losses = Counter()
    winners = []
    for round_number in range(ROUNDS):
        overlapping = round_number % 2 == 1
        with app.app_context():
            if overlapping:
                only_a, shared, only_b = approved_enrollment_ids(3)
                chosen = {"a": [only_a, shared], "b": [shared, only_b]}
            else:
                [shared] = approved_enrollment_ids(1)
                chosen = {"a": [shared], "b": [shared]}

        results = run_together(
            app, {name: partial(place_for, ids) for name, ids in chosen.items()}, rng
        )

        placed = [name for name, result in results.items() if isinstance(result, int)]
        assert len(placed) == 1, results
        [winner_name] = placed
        [loser_name] = [name for name in results if name != winner_name]
        winner = results[winner_name]
        message = results[loser_name]
        winners.append(winner)

        with app.app_context():
            order = db.session.get(Order, winner)
            assert order.status == OrderStatus.PENDING
            assert sorted(item.enrollment_id for item in order.items) == sorted(chosen[winner_name])
            # The loser's order was rolled back whole.
            assert db.session.scalar(select(func.count()).select_from(Order)) == round_number + 1
            pending_order_ids = {
                enrollment_id: db.session.get(Enrollment, enrollment_id).pending_order_id
                for ids in chosen.values()
                for enrollment_id in ids
            }
            expected_held = {
                enrollment_id: winner if enrollment_id in chosen[winner_name] else None
                for enrollment_id in pending_order_ids
            }
            assert pending_order_ids == expected_held
            selection_saw_it = (
                PARTLY_HELD
                if overlapping
                else (
                    "所选报名已在待付款订单中，请到订单管理对该订单【立即支付】或先取消该订单："
                    f"{db.session.get(Enrollment, shared).trainee.name}（订单 {order.number}）。"
                )
            )

        assert message in (TAKEN_MEANWHILE, selection_saw_it), message
        stage = "conditional update" if message == TAKEN_MEANWHILE else "selection"
        variant = "two of two overlap" if overlapping else "same enrollment"
        losses[f"{variant}: loser stopped at {stage}"] += 1

    with app.app_context():
        assert sorted(hold.scheduled_job_ids()) == sorted(hold.job_id(w) for w in winners)
    report(f"two orders for one enrollment over {ROUNDS} rounds", losses)


def test_sweep_and_notifications_on_expired_orders(app):
    """The sweep against payments on expired orders.

    Each round has two orders without a QR code (the bulk path), two with an open QR code
    paid during the sweep, and one whose money was taken before the sweep, its notification
    delivered during it.
    """
    rng = random.Random(RANDOM_SEED + 3)
    counts = Counter()
    for _ in range(ROUNDS):
        set_offset(timedelta(0))
        with app.test_request_context():
            without_qr = [place_pending_order(1) for _ in range(2)]
            racing = [place_pending_order(1) for _ in range(2)]
            racing_qr = [open_qr(order_id) for order_id in racing]
            paid_before = place_pending_order(1)
            signed = pay_at_sandbox(open_qr(paid_before))
        set_offset(PAST_HOLD)

        results = run_together(
            app,
            {
                "sweep": hold.sweep_expired_orders,
                "pay-0": partial(pay_and_notify, racing_qr[0]),
                "pay-1": partial(pay_and_notify, racing_qr[1]),
                "notify": partial(deliver, signed),
            },
            rng,
            # The sweep cancels the orders without a QR code first. Without this wider spread
            # the payments nearly always came before the sweep closed their QR codes.
            jitter=SWEEP_JITTER,
        )

        with app.app_context():
            statuses = {
                order_id: assert_settled(order_id)
                for order_id in [*without_qr, *racing, paid_before]
            }
            pending = db.session.scalar(
                select(func.count()).where(Order.status == OrderStatus.PENDING)
            )
            paid_before_outcomes = notification_outcomes(paid_before)

        assert pending == 0
        for order_id in without_qr:
            assert statuses[order_id] == OrderStatus.CANCELLED
        assert statuses[paid_before] == OrderStatus.PAID
        assert results["notify"] == 200
        assert paid_before_outcomes in ([PaymentOutcome.PAID], [PaymentOutcome.DUPLICATE])
        for index, order_id in enumerate(racing):
            paid = results[f"pay-{index}"] is not None
            if paid:
                assert results[f"pay-{index}"] == 200
            assert statuses[order_id] == (OrderStatus.PAID if paid else OrderStatus.CANCELLED)
            counts["QR order paid" if paid else "QR order cancelled by the sweep"] += 1
        cancelled = sum(1 for status in statuses.values() if status == OrderStatus.CANCELLED)
        assert results["sweep"] == cancelled
        settled_by = "notification" if paid_before_outcomes == ["paid"] else "sweep's close"
        counts[f"money-first order paid by {settled_by}"] += 1

    report(f"sweep against notifications over {ROUNDS} rounds", counts)
