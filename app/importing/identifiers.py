"""Checks of ID numbers and mainland mobile numbers as units type them into Excel.

Each check returns the normalised value or raises ``FieldError``, whose Chinese message
tells the user how to fix the cell.
"""

import math
import re
import unicodedata
from datetime import date

RESIDENT_ID = "身份证"

# GB 11643: weight of each of the first 17 digits, and the check character for sum mod 11.
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK_CHARACTERS = "10X98765432"

# First two digits of a resident ID: the province-level division (11 Beijing ... 82 Macao).
PROVINCE_CODES = frozenset(
    (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46)
    + (50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82)
)

MIN_AGE = 18
MAX_AGE = 100

# Excel stores numbers as doubles and shows at most 15 significant digits.
EXCEL_SIGNIFICANT_DIGITS = 15

# Plausible shapes of the other ID types in the catalog, after upper-casing.
OTHER_ID_PATTERNS = {
    # Chinese passports are E/G + 8 digits; foreign ones are 5-17 letters and digits.
    "护照": re.compile(r"[A-Z0-9]{5,17}"),
    # 回乡证: H (Hong Kong) or M (Macao), then 8 digits, 10 on older cards.
    "港澳居民来往内地通行证": re.compile(r"[HM]\d{8}(\d{2})?"),
    # 台胞证: 8 digits; older cards carry 10 digits and sometimes a letter.
    "台湾居民来往大陆通行证": re.compile(r"\d{8}(\d{2})?[A-Z]?"),
    # Old cards: 3 letters + 12 digits; cards since 2023: 18 characters starting with 9.
    "外国人永久居留身份证": re.compile(r"[A-Z]{3}\d{12}|9\d{16}[\dX]"),
}
# ID types that staff may add to the catalog later: letters, digits and dashes.
GENERIC_ID_PATTERN = re.compile(r"[A-Z0-9-]{4,32}")

MOBILE_PATTERN = re.compile(r"1[3-9]\d{9}")
# Characters people put inside phone numbers to group digits.
PHONE_SEPARATORS = re.compile(r"[\s\-()]")


class FieldError(ValueError):
    """A cell value that fails a check; ``kind`` names the rule in snake_case."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def _format_characters() -> frozenset[str]:
    # Unicode 14 (Python 3.11) has format characters only in planes 0, 1 and 14.
    candidates = (*range(0x20000), *range(0xE0000, 0xE1000))
    return frozenset(chr(code) for code in candidates if unicodedata.category(chr(code)) == "Cf")


# Zero-width spaces and joiners, bidi marks, the BOM, soft hyphens (category Cf): invisible in
# Excel, they come in with text copied from web pages and chat apps.
FORMAT_CHARACTERS = _format_characters()
_FORMAT_CHARACTER = re.compile("[" + "".join(sorted(FORMAT_CHARACTERS)) + "]")
# C0 and C1 controls other than tab, line feed and carriage return, which count as spaces.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_format_characters(value: str) -> str:
    """Remove invisible format characters (Unicode category Cf) such as U+200B."""
    if value.isascii():  # no Cf character is ASCII; most cells are, and this runs per cell
        return value
    return _FORMAT_CHARACTER.sub("", value)


def shorten(text: str, limit: int = 60) -> str:
    """Cut a value echoed in a message to ``limit`` characters, marking the cut with …."""
    return text if len(text) <= limit else text[:limit] + "…"


def normalize_text(value: str) -> str:
    """Apply NFKC (full-width to half-width, ideographic space to space), drop invisible
    format characters and strip."""
    return strip_format_characters(unicodedata.normalize("NFKC", value)).strip()


def resident_id_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, RESIDENT_ID_WEIGHTS))
    return RESIDENT_ID_CHECK_CHARACTERS[total % 11]


def clean_id_text(value: str) -> str:
    """Upper-case an ID typed as text and drop spaces and a leading apostrophe."""
    text = normalize_text(value).lstrip("'")
    return re.sub(r"\s+", "", text).upper()


def id_number_from_number(value: float) -> str:
    """Turn a numeric ID cell into text when no digit can have been lost.

    Raise ``numeric_precision_lost`` when the number is too long for Excel to have kept
    every digit, or is not a whole number.
    """
    if not math.isfinite(value):
        raise FieldError("invalid_id_format", "证件号不是有效的号码，请重新填写。")
    whole = int(value)
    if whole != value or whole < 0 or len(str(whole)) > EXCEL_SIGNIFICANT_DIGITS:
        raise FieldError(
            "numeric_precision_lost",
            "证件号被 Excel 存成了数字，超过 15 位的部分已经丢失（末尾变成 0 或显示为科学计数）。"
            "请把该列单元格格式设为“文本”，再重新输入完整的证件号。",
        )
    return str(whole)


def check_resident_id(number: str, today: date) -> str:
    """Validate an 18-character resident ID (GB 11643) and return it with an upper-case X."""
    if len(number) == 15 and number.isdigit():
        raise FieldError(
            "id_15_digit_obsolete",
            "15 位身份证号已停止使用，请填写 18 位的居民身份证号码。",
        )
    if len(number) != 18 or not number[:17].isdigit() or not re.fullmatch(r"[\dX]", number[17]):
        raise FieldError(
            "invalid_id_format",
            f"身份证号应为 18 位：前 17 位是数字，最后一位是数字或 X，当前为 {len(number)} 位。"
            "请核对后重新填写。",
        )
    if int(number[:2]) not in PROVINCE_CODES:
        raise FieldError(
            "invalid_id_format",
            f"身份证号前两位 {number[:2]} 不是有效的省级行政区代码，请核对证件号。",
        )
    birth = _birth_date(number)
    expected = resident_id_check_character(number[:17])
    if number[17] != expected:
        raise FieldError(
            "checksum",
            "身份证号校验位不正确（最后一位与前 17 位不符），可能有数字输错，请对照证件重新填写。",
        )
    _check_age(birth, today)
    return number


def _birth_date(number: str) -> date:
    digits = number[6:14]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise FieldError(
            "invalid_birth_date",
            f"身份证号第 7-14 位的出生日期 {digits} 不是有效日期，请核对证件号。",
        ) from None


def _check_age(birth: date, today: date) -> None:
    if birth > today:
        raise FieldError(
            "implausible_age",
            f"身份证号中的出生日期 {birth:%Y-%m-%d} 晚于今天，不可能是学员的出生日期。"
            "请核对证件号，可能有数字输错。",
        )
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < MIN_AGE:
        raise FieldError(
            "implausible_age",
            f"按身份证号中的出生日期 {birth:%Y-%m-%d}，学员今天 {age} 岁，未满 {MIN_AGE} 岁。"
            "请核对证件号。",
        )
    if age > MAX_AGE:
        raise FieldError(
            "implausible_age",
            f"按身份证号中的出生日期 {birth:%Y-%m-%d}，学员今天 {age} 岁，超过 {MAX_AGE} 岁。"
            "请核对证件号。",
        )


def gender_from_resident_id(number: str) -> str:
    """Return 男 or 女 from the 17th digit of a resident ID (odd for men, even for women)."""
    return "男" if int(number[16]) % 2 == 1 else "女"


def check_other_id(id_type: str, number: str) -> str:
    """Check the shape of a passport or permit number; these carry no check digit we trust."""
    pattern = OTHER_ID_PATTERNS.get(id_type, GENERIC_ID_PATTERN)
    if not pattern.fullmatch(number):
        raise FieldError(
            "invalid_id_format",
            f"“{shorten(number)}”不像有效的{id_type}号码，请核对证件上的号码（只填字母和数字）。",
        )
    # Cards issued since 2023 carry a GB 11643 check character like resident IDs.
    new_card = id_type == "外国人永久居留身份证" and len(number) == 18
    if new_card and resident_id_check_character(number[:17]) != number[17]:
        raise FieldError("checksum", "外国人永久居留身份证号码校验位不正确，请对照证件重新填写。")
    return number


def normalize_mobile(value: str | float) -> str:
    """Return an 11-digit mainland mobile number, or raise ``invalid_phone``."""
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise FieldError("invalid_phone", "手机号码应为 11 位数字，请重新填写。")
        value = int(value)
    text = normalize_text(str(value)).lstrip("'")
    text = PHONE_SEPARATORS.sub("", text)
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            text = text[len(prefix) :]
            break
    if not MOBILE_PATTERN.fullmatch(text):
        raise FieldError(
            "invalid_phone",
            f"手机号码“{shorten(str(value))}”无效：应为 13-19 开头的 11 位大陆手机号，请重新填写。",
        )
    return text
