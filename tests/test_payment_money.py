"""Conversions between integer fen and yuan text."""

import pytest

from app.payments.money import fen_from_yuan, yuan_text


@pytest.fixture(autouse=True)
def _clean_database():
    """Replace the suite's per-test database reset: these functions touch no database."""
    yield


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (15000, "150.00"),
        (123450, "1234.50"),
        (9999999999, "99999999.99"),
        (10**15 + 1, "10000000000000.01"),
    ],
)
def test_yuan_text(fen, text):
    assert yuan_text(fen) == text


def test_yuan_text_negative():
    with pytest.raises(ValueError, match="must not be negative"):
        yuan_text(-1)


@pytest.mark.parametrize("fen", [1.0, "100", True, None])
def test_yuan_text_not_int(fen):
    with pytest.raises(TypeError, match="must be an int"):
        yuan_text(fen)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0", 0),
        ("0.00", 0),
        ("0.01", 1),
        ("0.1", 10),
        ("0.10", 10),
        ("1", 100),
        ("150.00", 15000),
        ("150", 15000),
        ("1234.5", 123450),
        ("99999999.99", 9999999999),
        ("10000000000000.01", 10**15 + 1),
    ],
)
def test_fen_from_yuan(text, fen):
    assert fen_from_yuan(text) == fen
    assert type(fen_from_yuan(text)) is int


@pytest.mark.parametrize(
    "text",
    [
        "1.001",
        "0.005",
        "-1.00",
        "-0",
        "+1.00",
        "1e2",
        "1E-2",
        "NaN",
        "Infinity",
        " 1.00",
        "1.00 ",
        "1.00\n",
        "",
        ".5",
        "5.",
        "01.00",
        "1,000.00",
        "1_000",
        "１.００",
        "¥1.00",
        "abc",
        None,
        1.5,
    ],
)
def test_fen_from_yuan_invalid(text):
    with pytest.raises(ValueError, match="invalid yuan amount"):
        fen_from_yuan(text)


def test_round_trip():
    for fen in [*range(0, 2001), 1999999, 2000001, 123456789]:
        assert fen_from_yuan(yuan_text(fen)) == fen
