"""The error workbook (下载错误数据): failed rows in template form, faulty cells marked red.

It is the template with the failed rows filled in, so after fixing the red cells the user
uploads it again as it is; the extra 错误原因 column is ignored on import.
"""

from datetime import date, datetime
from pathlib import Path

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from app.importing import columns as col
from app.importing.catalog import CatalogSnapshot
from app.importing.report import ImportReport, RowResult
from app.importing.template import DATA_SHEET, HEADER_FILL, build_template, column_index

REASON_HEADER = "错误原因"
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
COMMENT_AUTHOR = "导入校验"
ERROR_FILE_NAME = "导入错误数据.xlsx"
# Excel refuses to open a workbook with a longer cell text.
EXCEL_MAX_CELL_CHARACTERS = 32767


def write_error_workbook(
    report: ImportReport, catalog: CatalogSnapshot, max_rows: int, path: Path
) -> int:
    """Write the failed rows of ``report`` to ``path``; return how many rows were written."""
    workbook = build_template(catalog, max_rows)
    sheet = workbook[DATA_SHEET]
    reason_column = len(col.COLUMNS) + 1
    header = sheet.cell(row=1, column=reason_column, value=REASON_HEADER)
    header.font = Font(bold=True, color="C00000")
    header.fill = HEADER_FILL
    sheet.column_dimensions[header.column_letter].width = 60

    rows = report.error_rows
    for sheet_row, result in enumerate(rows, start=2):
        _write_row(sheet, sheet_row, result)
        reason = sheet.cell(
            row=sheet_row, column=reason_column, value=_writable(error_reason(result))
        )
        reason.data_type = "s"
        reason.alignment = Alignment(wrap_text=True, vertical="top")
    workbook.save(path)
    return len(rows)


def error_reason(result: RowResult) -> str:
    """Return the row's messages in one cell: 原第 12 行：证件号：…；性别：…"""
    parts = [f"{error.column}：{error.message}" for error in result.errors]
    return f"原第 {result.row} 行：" + "；".join(parts)


def _write_row(sheet, sheet_row: int, result: RowResult) -> None:
    messages: dict[str, list[str]] = {}
    for error in result.errors:
        messages.setdefault(error.column, []).append(error.message)
    for label in col.LABELS:
        cell = sheet.cell(row=sheet_row, column=column_index(label))
        cell.value = _cell_value(result.raw.get(label))
        if isinstance(cell.value, str):
            # openpyxl turns text starting with "=" into a live formula; what the user typed
            # goes back as the text it was.
            cell.data_type = "s"
        if label in messages:
            cell.fill = ERROR_FILL
            cell.font = ERROR_FONT
            cell.comment = Comment(
                _writable("\n".join(messages[label])), COMMENT_AUTHOR, width=300, height=120
            )


def _cell_value(value: object) -> object:
    """Write back what was read, keeping numbers as numbers so nothing looks silently fixed."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, (int, float, bool, date, datetime)):
        return value
    return _writable(str(value))


def _writable(text: str) -> str:
    """Drop the control characters that the xlsx format cannot store and cut to Excel's limit.

    Control characters reach a row through escapes such as _x0007_; the row's message names
    the one that was found, so dropping it here loses nothing the user needs.
    """
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:EXCEL_MAX_CELL_CHARACTERS]
