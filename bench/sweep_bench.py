"""Benchmark of the order-hold sweep: cancelling many expired orders at once.

    .venv/bin/python -m bench.sweep_bench [--orders 10000] [--qr-percent 10] [--skip-analyze]
        [--database-url URL]

It bulk-inserts `orders` pending orders whose 48-hour hold has run out, each holding one
approved enrollment. `qr-percent` of them also have an open sandbox QR code (a payment attempt
and the sandbox's trade), so the sweep cancels those one by one after closing the QR code,
and the rest in bulk. It times one ``hold.sweep_expired_orders()`` call, prints each path's
figures, and then checks that every order is cancelled and every enrollment is free again.
Planner statistics are gathered (ANALYZE) before timing unless --skip-analyze is given.
The database is a SQLite file by default, or a scratch PostgreSQL database that is created
beside the given URL and dropped afterwards. The target is >= 500 orders/s over the whole
sweep.
"""

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update

from bench.databases import scratch_database

TARGET_RATE = 500.0
SANDBOX = "sandbox-wechat"
FEE_FEN = 15000  # the demo catalog's fee for 电梯


@dataclass
class SweepTiming:
    cancelled: int  # what sweep_expired_orders returned
    seconds: float
    bulk_seconds: float  # until the sweep starts on the orders with an open QR code
    qr_orders: int  # expired orders with an open QR code the sweep found


def main() -> int:
    parser = argparse.ArgumentParser(description="Time the sweep that cancels expired orders.")
    parser.add_argument("--orders", type=int, default=10000, help="expired pending orders")
    parser.add_argument(
        "--qr-percent",
        type=int,
        default=10,
        help="percentage of the orders that have an open sandbox QR code (0-100)",
    )
    parser.add_argument(
        "--skip-analyze",
        action="store_true",
        help="time the sweep before the database has planner statistics for the new rows",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql://... for PostgreSQL (a scratch database is made beside it); "
        "default: a SQLite file in a temporary folder",
    )
    args = parser.parse_args()
    if args.orders < 1 or not 0 <= args.qr_percent <= 100:
        parser.error("--orders must be at least 1 and --qr-percent between 0 and 100")

    with (
        tempfile.TemporaryDirectory(prefix="sweep-bench-") as folder,
        scratch_database(args.database_url, Path(folder)) as url,
    ):
        timing, problems = run_sweep(url, args.orders, args.qr_percent, not args.skip_analyze)

    qr_expected = qr_order_count(args.orders, args.qr_percent)
    bulk_orders = timing.cancelled - timing.qr_orders
    qr_seconds = timing.seconds - timing.bulk_seconds
    rate = timing.cancelled / timing.seconds
    database = "PostgreSQL" if args.database_url else "SQLite"
    statistics = "no ANALYZE after loading" if args.skip_analyze else "ANALYZE after loading"
    print(
        f"orders: {args.orders} expired, {qr_expected} with an open QR code  "
        f"database: {database} ({statistics})"
    )
    print(
        f"sweep_expired_orders: {timing.cancelled} cancelled in {timing.seconds:.2f} s: "
        f"{rate:.0f} orders/s  (target >= {TARGET_RATE:.0f})"
    )
    print(
        f"  bulk path, no QR code: {bulk_orders} in {timing.bulk_seconds:.2f} s: "
        f"{per_second(bulk_orders, timing.bulk_seconds)}"
    )
    print(
        f"  one by one, QR code closed first: {timing.qr_orders} in {qr_seconds:.2f} s: "
        f"{per_second(timing.qr_orders, qr_seconds)}"
    )
    if problems:
        for problem in problems:
            print(f"verification failed: {problem}")
        return 1
    print(f"verified: all {args.orders} orders cancelled and their enrollments freed")
    return 0 if rate >= TARGET_RATE else 1


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:.0f} orders/s" if count and seconds > 0 else "-"


def qr_order_count(orders: int, qr_percent: int) -> int:
    return sum(1 for number in range(orders) if has_qr(number, qr_percent))


def has_qr(number: int, qr_percent: int) -> bool:
    """Tell whether order `number` gets a QR code, spreading them evenly (every 10th at 10 %)."""
    return (number * qr_percent) // 100 != ((number + 1) * qr_percent) // 100


def run_sweep(
    database_url: str, orders: int, qr_percent: int, analyze: bool
) -> tuple[SweepTiming, list[str]]:
    """Fill a fresh database with expired orders, time the sweep, and verify its result."""
    from app import create_app
    from app.config import Config
    from app.extensions import db
    from app.seed import load_demo

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=database_url, PAYMENT_PROVIDERS=[SANDBOX])
    # One INFO line per cancelled order would bury the figures.
    logging.getLogger("app.payments").setLevel(logging.WARNING)
    with app.app_context():
        db.create_all()
        load_demo()
        create_expired_orders(orders, qr_percent)
        if analyze:
            # A database in use has statistics from autovacuum. Without them PostgreSQL 15
            # planned the sweep's NOT EXISTS as a nested loop over every open QR code per order.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        timing = time_sweep()
        problems = verify(orders, qr_order_count(orders, qr_percent), timing)
        db.session.remove()
        db.engine.dispose()
    return timing, problems


def create_expired_orders(count: int, qr_percent: int) -> None:
    """Bulk-insert `count` pending orders whose hold ended an hour ago, one enrollment each."""
    from app.extensions import db
    from app.models import Enrollment, EnrollmentStatus, Trainee, Unit, User, now
    from app.models.payment import AttemptStatus, Order, OrderItem, PaymentAttempt, SandboxTrade

    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
    admin_id = db.session.scalar(select(User.id).where(User.username == "demo_admin"))
    expires_at = now() - timedelta(hours=1)
    placed_at = expires_at - timedelta(hours=48)

    db.session.execute(
        insert(Trainee),
        [
            {
                "unit_id": unit_id,
                "name": f"学员{number}",
                "id_type": "护照",
                "id_number": f"E{number:08d}",
                "gender": "男",
                "phone": "13800000000",
                "education": "大专",
            }
            for number in range(count)
        ],
    )
    trainee_ids = db.session.scalars(select(Trainee.id).order_by(Trainee.id)).all()
    db.session.execute(
        insert(Enrollment),
        [
            {
                "unit_id": unit_id,
                "trainee_id": trainee_id,
                "position": "安全员",
                "training_type": "特种设备使用单位",
                "training_project": "电梯",
                "organization": "厦门市特种设备协会",
                "status": EnrollmentStatus.APPROVED,
                "decided_at": placed_at,
            }
            for trainee_id in trainee_ids
        ],
    )
    enrollment_ids = db.session.scalars(select(Enrollment.id).order_by(Enrollment.id)).all()

    numbers = [f"36EL{placed_at:%Y%m%d%H%M%S}{number:010d}" for number in range(count)]
    db.session.execute(
        insert(Order),
        [
            {
                "number": number,
                "name": f"{placed_at:%Y%m%d%H%M%S}线上培训费订单",
                "unit_id": unit_id,
                "organization": "厦门市特种设备协会",
                "total_fen": FEE_FEN,
                "status": "pending",
                "placed_at": placed_at,
                "expires_at": expires_at,
                "placed_by_id": admin_id,
            }
            for number in numbers
        ],
    )
    order_ids = db.session.scalars(select(Order.id).order_by(Order.id)).all()
    db.session.execute(
        insert(OrderItem),
        [
            {
                "order_id": order_id,
                "enrollment_id": enrollment_id,
                "trainee_name": f"学员{number}",
                "id_number": f"E{number:08d}",
                "class_name": "特种设备使用单位电梯",
                "price_fen": FEE_FEN,
            }
            for number, (order_id, enrollment_id) in enumerate(zip(order_ids, enrollment_ids))
        ],
    )
    # Hold each enrollment by its order, in one statement on both databases.
    db.session.execute(
        update(Enrollment)
        .values(
            pending_order_id=select(OrderItem.order_id)
            .where(OrderItem.enrollment_id == Enrollment.id)
            .scalar_subquery()
        )
        .execution_options(synchronize_session=False)
    )

    with_qr = [
        (order_id, number + "01")
        for position, (order_id, number) in enumerate(zip(order_ids, numbers))
        if has_qr(position, qr_percent)
    ]
    if with_qr:
        db.session.execute(
            insert(PaymentAttempt),
            [
                {
                    "order_id": order_id,
                    "provider": SANDBOX,
                    "out_trade_no": out_trade_no,
                    "amount_fen": FEE_FEN,
                    "qr_text": f"http://127.0.0.1/payments/sandbox/{out_trade_no}",
                    "status": AttemptStatus.OPEN,
                    "created_at": placed_at,
                }
                for order_id, out_trade_no in with_qr
            ],
        )
        db.session.execute(
            insert(SandboxTrade),
            [
                {
                    "out_trade_no": out_trade_no,
                    "amount_fen": FEE_FEN,
                    "subject": f"{placed_at:%Y%m%d%H%M%S}线上培训费订单",
                    "state": "pending",
                    "transaction_id": "",
                    "created_at": placed_at,
                }
                for _order_id, out_trade_no in with_qr
            ],
        )
    db.session.commit()


def time_sweep() -> SweepTiming:
    """Time one sweep, noting when it turns from the bulk path to the orders with a QR code."""
    from app.payments import hold

    find_qr_orders = hold._expired_with_open_attempts
    turned: dict[str, float | int] = {}

    def find_qr_orders_timed() -> list[int]:
        turned["at"] = time.perf_counter()
        found = find_qr_orders()
        turned["found"] = len(found)
        return found

    # The sweep looks the function up in its module on each call, so this wrapper records the
    # moment the bulk path ends without changing what the sweep does.
    hold._expired_with_open_attempts = find_qr_orders_timed
    try:
        started = time.perf_counter()
        cancelled = hold.sweep_expired_orders()
        finished = time.perf_counter()
    finally:
        hold._expired_with_open_attempts = find_qr_orders
    return SweepTiming(
        cancelled=cancelled,
        seconds=finished - started,
        bulk_seconds=turned["at"] - started,
        qr_orders=turned["found"],
    )


def verify(orders: int, qr_orders: int, timing: SweepTiming) -> list[str]:
    """Return what is wrong after the sweep; an empty list when all is as expected."""
    from app.extensions import db
    from app.models import Enrollment
    from app.models.payment import AttemptStatus, Order, OrderStatus, PaymentAttempt, SandboxTrade
    from app.payments.hold import expiry_reason

    def count(*conditions) -> int:
        return db.session.scalar(select(func.count()).where(*conditions))

    checks = [
        ("sweep_expired_orders returned", timing.cancelled, orders),
        ("orders with an open QR code found by the sweep", timing.qr_orders, qr_orders),
        (
            "orders cancelled for expiry",
            count(Order.status == OrderStatus.CANCELLED, Order.cancel_reason == expiry_reason()),
            orders,
        ),
        ("orders still pending", count(Order.status == OrderStatus.PENDING), 0),
        ("enrollments still held", count(Enrollment.pending_order_id.is_not(None)), 0),
        ("enrollments marked paid", count(Enrollment.payment_status != "unpaid"), 0),
        ("QR codes closed", count(PaymentAttempt.status == AttemptStatus.CLOSED), qr_orders),
        ("sandbox trades closed", count(SandboxTrade.state == "closed"), qr_orders),
    ]
    return [
        f"{label}: {actual}, expected {expected}"
        for label, actual, expected in checks
        if actual != expected
    ]


if __name__ == "__main__":
    sys.exit(main())
