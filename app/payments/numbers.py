"""Order numbers, order names and merchant order numbers of payment attempts."""

import secrets
from datetime import datetime

from app.models.payment import OrderKind

# 订单编号 as the current platform prints them: a prefix, the time placed and ten random
# digits, e.g. 36EL202310171744470229946531.
ORDER_NUMBER_RANDOM_DIGITS = 10


def order_number(prefix: str, placed_at: datetime) -> str:
    """Generate an 订单编号: the prefix, the time placed and ORDER_NUMBER_RANDOM_DIGITS digits."""
    digits = "".join(secrets.choice("0123456789") for _ in range(ORDER_NUMBER_RANDOM_DIGITS))
    return f"{prefix}{placed_at:%Y%m%d%H%M%S}{digits}"


def order_name(kind: str, placed_at: datetime) -> str:
    """Return the 订单名称, e.g. 20231017174447线上培训费订单."""
    return f"{placed_at:%Y%m%d%H%M%S}{OrderKind.NAME_SUFFIX[kind]}"


def attempt_number(order_number_: str, sequence: int) -> str:
    """Return the merchant order number of the order's n-th QR code.

    It has 30 characters with the default prefix and fewer than 100 QR codes, within WeChat's
    limit of 32.

    Each QR code gets its own number so that closing one at the provider never closes the next.
    """
    return f"{order_number_}{sequence:02d}"
