"""The columns of the enrollment workbook and matching of header cells to them by text."""

import re
import unicodedata
from dataclasses import dataclass

from app.importing.identifiers import strip_format_characters


@dataclass(frozen=True)
class Column:
    label: str  # the field label used in messages, JSON and the template
    required: bool
    aliases: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        """Header text as the manual's template writes it."""
        return f"{self.label} (必填)" if self.required else f"{self.label} (选填)"


NAME = "姓名"
ID_TYPE = "证件类型"
ID_NUMBER = "证件号"
GENDER = "性别"
PHONE = "手机号码"
EDUCATION = "最高学历"
DEGREE = "学历"
TRAINING_TYPE = "培训类型"
TRAINING_PROJECT = "培训项目"
HOLDS_CERTIFICATE = "是否持有特种设备安全管理证书"

COLUMNS = (
    Column(NAME, True, ("学员姓名",)),
    Column(ID_TYPE, True),
    Column(ID_NUMBER, True, ("证件号码", "身份证号", "身份证号码")),
    Column(GENDER, True),
    Column(PHONE, True, ("手机号", "手机")),
    Column(EDUCATION, True),
    Column(DEGREE, False),
    Column(TRAINING_TYPE, True),
    Column(TRAINING_PROJECT, True),
    Column(HOLDS_CERTIFICATE, True, ("是否持有特种设备安全管理人员证书", "是否持证")),
)
LABELS = tuple(column.label for column in COLUMNS)
REQUIRED_LABELS = tuple(column.label for column in COLUMNS if column.required)

# Notes that people and the manual's template put after a label: (必填), (选 填), （非必填）.
_NOTE = re.compile(r"\((?:必填|选填|非必填|可选|可不填|选择|必选)\)")
_WHITESPACE = re.compile(r"\s+")


def header_key(text: object) -> str:
    """Reduce a header cell to a comparable key: NFKC, no spaces, no note, no asterisk."""
    if text is None:
        return ""
    key = unicodedata.normalize("NFKC", str(text))
    key = strip_format_characters(_WHITESPACE.sub("", key))
    key = _NOTE.sub("", key)
    return key.strip("*:：")


_KEY_TO_LABEL = {
    header_key(name): column.label for column in COLUMNS for name in (column.label, *column.aliases)
}


def label_for_header(text: object) -> str | None:
    """Return the field label that a header cell names, or None for an unknown column."""
    return _KEY_TO_LABEL.get(header_key(text))


class HeaderError(ValueError):
    """The header row lacks a required column or names one column twice."""


def match_header(cells: list) -> dict[str, int]:
    """Map each known field label to its index in the header row.

    Unknown columns (for example 错误原因 in a corrected error workbook) are ignored.
    """
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        label = label_for_header(cell)
        if label is None:
            continue
        if label in positions:
            raise HeaderError(
                f"表头中“{label}”列出现了两次（{column_letter(positions[label])} 列和 "
                f"{column_letter(index)} 列），请删除多余的一列后重新上传。"
            )
        positions[label] = index
    missing = [label for label in REQUIRED_LABELS if label not in positions]
    if missing:
        names = "、".join(f"“{label}”" for label in missing)
        raise HeaderError(
            f"表头缺少必填列：{names}。请使用“下载导入模板”得到的模板，保留第一行表头后重新上传。"
        )
    return positions


def count_known_headers(cells: list) -> int:
    return sum(1 for cell in cells if label_for_header(cell) is not None)


def column_letter(index: int) -> str:
    """Return the Excel column letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
