"""Jobs that the scheduler process runs; each one opens its own application context."""

import logging

from flask import Flask

log = logging.getLogger(__name__)

_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Give the job functions the application; APScheduler stores jobs by function reference."""
    global _app
    _app = app


def fire_due_timers() -> None:
    """Fire BPMN timer events whose due time has passed and advance their process instances."""
    from workflows.timers import fire_due_timers as fire

    with _app.app_context():
        fired = fire()
        if fired:
            log.info("fired %d due timer(s)", fired)


def remove_orphan_documents() -> None:
    """Delete uploaded files that no document row refers to any more."""
    from app.documents.storage import remove_orphan_files

    with _app.app_context():
        remove_orphan_files()
