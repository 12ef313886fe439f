"""The scheduler process: one leader at a time, jobs stored in the application database."""

from apscheduler.schedulers.background import BackgroundScheduler

from app.extensions import db
from scheduler.__main__ import build_scheduler
from scheduler.leader import LeaderLock


def test_second_scheduler_cannot_take_lock(app):
    with app.app_context():
        first = LeaderLock(db.engine)
        second = LeaderLock(db.engine)
        assert first.acquire() is True
        try:
            assert second.acquire() is False
        finally:
            second.release()
            first.release()


def test_lock_is_free_again_after_release(app):
    with app.app_context():
        first = LeaderLock(db.engine)
        assert first.acquire() is True
        first.release()
        again = LeaderLock(db.engine)
        assert again.acquire() is True
        again.release()


def test_timer_sweep_job_is_stored_in_database(app):
    with app.app_context():
        scheduler = build_scheduler(app, BackgroundScheduler)
        scheduler.start(paused=True)
        try:
            job_ids = [job.id for job in scheduler.get_jobs()]
            expected = [
                "fire_due_timers",
                "reconcile_payments",
                "remove_orphan_documents",
                "sweep_expired_orders",
            ]
            assert sorted(job_ids) == expected
            rows = db.session.execute(db.text("SELECT id FROM apscheduler_jobs")).scalars().all()
            assert sorted(rows) == expected
        finally:
            scheduler.shutdown(wait=False)
