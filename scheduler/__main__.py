"""Run the scheduler process: ``python -m scheduler``."""

import logging
import signal
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app import create_app
from app.extensions import db
from scheduler import jobs
from scheduler.leader import LeaderLock

log = logging.getLogger("scheduler")

# How often the sweep looks for BPMN timers that are due (seconds).
TIMER_SWEEP_SECONDS = 30
# How often uploaded files without a document row are removed (hours).
ORPHAN_SWEEP_HOURS = 6
# How often expired orders whose own timer was missed are cancelled (minutes).
ORDER_SWEEP_MINUTES = 5
# How often open QR codes are checked with their provider (minutes).
RECONCILE_MINUTES = 5


def build_scheduler(app, scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """Create the scheduler with its job store in the application database."""
    store = SQLAlchemyJobStore(engine=db.engine, tablename="apscheduler_jobs")
    scheduler = scheduler_class(
        jobstores={"default": store},
        # A job missed while the process was down runs once on start, not once per miss.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="Asia/Shanghai",
    )
    scheduler.add_job(
        jobs.fire_due_timers,
        "interval",
        seconds=TIMER_SWEEP_SECONDS,
        id="fire_due_timers",
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.remove_orphan_documents,
        "interval",
        hours=ORPHAN_SWEEP_HOURS,
        id="remove_orphan_documents",
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.sweep_expired_orders,
        "interval",
        minutes=ORDER_SWEEP_MINUTES,
        id="sweep_expired_orders",
        # Also right at start: orders may have expired while the scheduler was down.
        next_run_time=datetime.now(ZoneInfo("Asia/Shanghai")),
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.reconcile_payments,
        "interval",
        minutes=RECONCILE_MINUTES,
        id="reconcile_payments",
        replace_existing=True,
    )
    return scheduler


def main() -> int:
    app = create_app()
    jobs.bind_app(app)
    with app.app_context():
        lock = LeaderLock(db.engine)
        if not lock.acquire():
            log.error("scheduler lock is taken by another scheduler process; exiting")
            return 1
        scheduler = build_scheduler(app)

    def stop(_signum, _frame):
        log.info("scheduler stopping")
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler started")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()
    log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
