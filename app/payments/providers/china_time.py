"""China Standard Time conversions and the freshness check shared by provider adapters.

The freshness check compares the provider's clock with the real clock, never with the app
clock, because tests and demos may shift the app clock.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.payments.providers.base import NotificationRejected

CHINA_ZONE = ZoneInfo("Asia/Shanghai")

# Both providers sign a fresh timestamp on every delivery, so a replayed notification is
# older than this while a genuine one arrives within seconds.
NOTIFICATION_MAX_SKEW = timedelta(minutes=5)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current real time as an aware UTC datetime (the default adapter clock)."""
    return datetime.now(UTC)


def to_china_naive(moment: datetime) -> datetime:
    """Convert an aware datetime to naive China Standard Time, as the app stores times."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime {moment.isoformat()} has no UTC offset")
    return moment.astimezone(CHINA_ZONE).replace(tzinfo=None)


def from_china_naive(moment: datetime) -> datetime:
    """Attach China Standard Time to a naive datetime. An aware one is returned unchanged."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=CHINA_ZONE)


def check_notification_time(sent_at: datetime, now: datetime) -> None:
    """Raise NotificationRejected unless ``sent_at`` is within five minutes of ``now``.

    Both arguments are aware datetimes. Future times are rejected too, because a clock far
    ahead would otherwise let a captured notification be replayed for longer.
    """
    skew = now - sent_at
    if skew > NOTIFICATION_MAX_SKEW:
        raise NotificationRejected(
            f"notification timestamp {sent_at.isoformat()} is {skew} old, over the 5 minute limit"
        )
    if -skew > NOTIFICATION_MAX_SKEW:
        raise NotificationRejected(
            f"notification timestamp {sent_at.isoformat()} is {-skew} in the future,"
            " over the 5 minute limit"
        )
