"""The application clock: naive local time (Asia/Shanghai), settable in tests."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

# Tests move time forward with set_offset() instead of patching datetime.
_offset = timedelta(0)


def now() -> datetime:
    """Return the current time in China Standard Time, without tzinfo, as stored in the database."""
    return datetime.now(LOCAL_ZONE).replace(tzinfo=None) + _offset


def set_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def offset() -> timedelta:
    """Return how far tests have moved the clock. The APScheduler job store keeps real time."""
    return _offset
