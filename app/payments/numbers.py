"""Order numbers, order names and merchant order numbers of payment attempts."""

import secrets
from datetime import datetime

from app.models.payment import OrderKind

# 订单编号 as the current platform prints them: a prefix, the time placed and ten random
# digits, e.g. 36EL202310171744470229946531.
ORDER_NUMBER_RANDOM_DIGITS = 10


def order_number(prefix: str, placed_at: datetime) -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(ORDER_NUMBER_RANDOM_DIGITS))
    return f"{prefix}{placed_at:%Y%m%d%H%M%S}{digits}"


def order_name(kind: str, placed_at: datetime) -> str:
    """订单名称: 20231017174447线上培训费订单."""
    return f"{placed_at:%Y%m%d%H%M%S}{OrderKind.NAME_SUFFIX[kind]}"


def attempt_number(order_number_: str, sequence: int) -> str:
    """The merchant order number of the order's n-th QR code: 30 characters, within WeChat's 32.

    Each QR code gets its own number so that closing one at the provider never closes the next.
    """
    return f"{order_number_}{sequence:02d}"
