"""Unified social credit code (统一社会信用代码, GB 32100-2015) validation.

python-stdnum's ``cn.uscc`` (2.2) rejects codes whose registration-authority character is N
(agriculture) or Y (other authorities), which real units carry, so the check is done here.
"""

import re
import unicodedata

# The 31 characters GB 32100 uses: digits and capital letters without I, O, S, V and Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Weight of position i (0-based) is 3**i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# Authority (any alphabet character), category, 6-digit division code, 9-character org code.
SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}$")


def normalize_credit_code(value: str) -> str:
    """Fold full-width characters, drop spaces and upper-case what an office typed."""
    folded = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s+", "", folded).upper()


def credit_code_check_character(first17: str) -> str:
    """Compute the 18th character of a code from its first 17 (mod 31 over ALPHABET)."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """Return a Chinese message saying what is wrong with a normalised code, or None if valid."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位，当前为{len(code)}位，请核对营业执照。"
    if not SHAPE.match(code):
        return (
            "统一社会信用代码格式不正确：只能包含数字和大写字母（不含 I、O、S、V、Z），"
            "第3至8位为行政区划代码数字，请核对营业执照。"
        )
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        return "统一社会信用代码校验位不正确，请核对营业执照上的代码是否抄错。"
    return None


def is_valid_credit_code(code: str) -> bool:
    return credit_code_error(normalize_credit_code(code)) is None
