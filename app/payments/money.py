"""Conversions between integer fen and yuan text, as Alipay writes amounts ("150.00").

Decimal only: a float cannot represent 0.01 exactly, and one fen off is a wrong payment.
"""

import re
from decimal import Decimal

FEN_PER_YUAN = 100

# Plain digits with at most two decimals: no sign, exponent, spaces, "NaN" or "Infinity",
# all of which Decimal() would otherwise accept.
_YUAN_PATTERN = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")


def yuan_text(fen: int) -> str:
    """Format an amount in fen as yuan with two decimals: 1 -> "0.01", 15000 -> "150.00"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount in fen must be an int, got {fen!r}")
    if fen < 0:
        raise ValueError(f"amount in fen must not be negative, got {fen}")
    yuan = Decimal(fen) / FEN_PER_YUAN
    return f"{yuan:.2f}"


def fen_from_yuan(text: str) -> int:
    """Parse a yuan amount such as "0.01", "150.00" or "1234.5" into integer fen.

    Raises ValueError on more than two decimals, a sign, an exponent or any other text.
    """
    if not isinstance(text, str) or not _YUAN_PATTERN.fullmatch(text):
        raise ValueError(f"invalid yuan amount {text!r}: expected digits with at most 2 decimals")
    return int(Decimal(text) * FEN_PER_YUAN)
