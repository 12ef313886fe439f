"""Reading an uploaded workbook with python-calamine, row by row.

python-calamine aborts the whole process (it cannot raise) when a sheet's used range is
huge, so ``package.inspect_package`` checks the zip's sizes and each sheet's extent first.
calamine returns a formula cell's cached value but shows a formula saved without one as an
empty cell, so such cells are found by scanning the sheet XML, streamed from the zip.
"""

import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import python_calamine
from flask import current_app, has_app_context

from app.importing.columns import (
    HeaderError,
    column_letter,
    count_known_headers,
    match_header,
)
from app.importing.package import (
    CORRUPT_FILE_MESSAGE,
    DEFAULT_MAX_UNPACKED_BYTES,
    MAX_COLUMNS,
    SheetExtent,
    corrupt_file_error,
    inspect_package,
)
from app.importing.report import ImportFileError

__all__ = ["CORRUPT_FILE_MESSAGE", "OpenedSheet", "RawRow", "open_sheet"]

log = logging.getLogger(__name__)

# The header must be within the first rows; a title line above it is tolerated.
HEADER_SEARCH_ROWS = 10

ZIP_MAGIC = b"PK\x03\x04"
# OLE2 compound file: Excel 97-2003 .xls, and also password-protected .xlsx.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_CELL_REFERENCE = re.compile(r"([A-Z]+)(\d+)")


@dataclass
class RawRow:
    number: int  # Excel row number
    cells: dict[str, object]  # by field label, as calamine returns them ("" when empty)
    references: dict[str, str]  # by field label: Excel reference such as C12
    formulas_without_value: set[str] = field(default_factory=set)  # field labels

    def is_blank(self) -> bool:
        if self.formulas_without_value:
            return False
        return all(_is_empty(value) for value in self.cells.values())


@dataclass
class OpenedSheet:
    """The sheet to import, its header and where its data starts."""

    path: Path
    sheet_name: str
    header_row: int  # Excel row number of the header
    first_column: int  # 0-based absolute index of calamine's first column
    positions: dict[str, int]  # field label -> index in calamine's row lists
    data_rows: int  # rows below the header, blank ones included
    _sheet: python_calamine.CalamineSheet
    _formula_cells: set[tuple[int, int]]  # (row number, 0-based absolute column)

    def rows(self) -> Iterator[RawRow]:
        """Yield every row below the header, blank rows included."""
        calamine_rows = None
        number = 0  # iter_rows starts at row 1 even when the sheet starts lower
        while True:
            with library_errors("read the rows"):
                if calamine_rows is None:
                    calamine_rows = iter(self._sheet.iter_rows())
                values = next(calamine_rows, None)
            if values is None:
                return
            number += 1
            if number > self.header_row:
                yield self._raw_row(number, values)

    def _raw_row(self, number: int, values: list) -> RawRow:
        cells = {}
        references = {}
        missing = set()
        for label, index in self.positions.items():
            cells[label] = values[index] if index < len(values) else ""
            absolute = self.first_column + index
            references[label] = f"{column_letter(absolute)}{number}"
            if (number, absolute) in self._formula_cells:
                missing.add(label)
        return RawRow(number, cells, references, missing)


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_workbook_format(path: Path) -> None:
    """Accept only an .xlsx (a zip with xl/workbook.xml), judged by content, not by name."""
    with open(path, "rb") as stream:
        head = stream.read(8)
    if not head:
        raise ImportFileError("上传的文件是空的，请选择填写好的 Excel 文件（.xlsx）。")
    if head.startswith(OLE2_MAGIC):
        raise ImportFileError(
            "文件是旧版 Excel 97-2003 格式（.xls）或设置了打开密码，无法读取。"
            "请在 Excel 中打开，取消密码后“另存为” Excel 工作簿（.xlsx）再上传。"
        )
    if not head.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(path):
        raise ImportFileError(
            "文件不是 Excel 工作簿（.xlsx），可能是图片、文档或改了扩展名的文件。"
            "请使用“下载导入模板”填写后上传。"
        )
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            detail = "这是 Excel 二进制工作簿（.xlsb）"
        elif "content.xml" in names:
            detail = "这是 OpenDocument 表格（.ods）"
        else:
            detail = "文件是压缩包但不是 Excel 工作簿"
        raise ImportFileError(f"{detail}，无法读取。请另存为 Excel 工作簿（.xlsx）后重新上传。")


def configured_max_unpacked_bytes() -> int:
    """Return IMPORT_MAX_UNPACKED_BYTES of the current app, or the default outside one."""
    if has_app_context():
        return current_app.config.get("IMPORT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES)
    return DEFAULT_MAX_UNPACKED_BYTES


def open_sheet(path: Path, *, max_rows: int, max_unpacked_bytes: int | None = None) -> OpenedSheet:
    """Open the workbook and find the sheet and header row to import.

    Raise ``ImportFileError`` for a file that is not an .xlsx, is damaged, unpacks to more
    than ``max_unpacked_bytes`` (None: the app setting), has no matching header, or whose
    sheet reaches beyond ``max_rows`` data rows or ``MAX_COLUMNS`` columns.
    """
    check_workbook_format(path)
    if max_unpacked_bytes is None:
        max_unpacked_bytes = configured_max_unpacked_bytes()
    extents = inspect_package(path, max_unpacked_bytes)
    with library_errors("open the workbook"):
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        candidates = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            and meta.visible == python_calamine.SheetVisibleEnum.Visible
        ]
    if not candidates:
        raise ImportFileError("工作簿中没有可见的工作表，请在第一个工作表中填写报名数据。")

    first_error: Exception | None = None
    for name in candidates:
        extent = extents.get(name)
        if extent is None:
            log.warning("calamine lists sheet %r that workbook.xml does not map", name)
            raise corrupt_file_error()
        try:
            check_extent(name, extent, max_rows)
        except ImportFileError as error:
            first_error = first_error or error
            continue
        with library_errors("read a sheet"):
            sheet = workbook.get_sheet_by_name(name)
            header_row, header = _find_header(sheet)
            height, start = sheet.height, sheet.start
        try:
            positions = match_header(header)
        except HeaderError as error:
            first_error = first_error or error
            continue
        return OpenedSheet(
            path=path,
            sheet_name=name,
            header_row=header_row,
            first_column=start[1] if start else 0,
            positions=positions,
            data_rows=max(0, height - header_row) if height else 0,
            _sheet=sheet,
            _formula_cells=_formulas_without_value(path, extent),
        )
    if isinstance(first_error, ImportFileError):
        raise first_error
    raise ImportFileError(str(first_error))


def check_extent(sheet_name: str, extent: SheetExtent, max_rows: int) -> None:
    """Reject a sheet whose used range calamine could not lay out in memory.

    Rows are limited to ``max_rows`` plus the rows where a header may sit, because a data
    row beyond that is rejected anyway. Formatted empty cells count: they are part of the
    used range that Excel saves, and the user clears them the same way.
    """
    row_limit = max_rows + HEADER_SEARCH_ROWS
    if extent.last_row <= row_limit and extent.last_column <= MAX_COLUMNS:
        return
    last_cell = f"{column_letter(max(extent.last_column, 1) - 1)}{extent.last_row}"
    raise ImportFileError(
        f"工作表“{sheet_name}”的使用范围一直延伸到单元格 {last_cell}"
        f"（第 {extent.last_row} 行、第 {extent.last_column} 列），"
        f"超出了可导入的范围（最多 {row_limit} 行、{MAX_COLUMNS} 列）。"
        "请在 Excel 中按 Ctrl+End 找到这个单元格，删除数据下方和右侧多余的行和列"
        "（选中整行或整列后右键“删除”；只清除内容不够，设置过格式或边框的空单元格也算在内），"
        f"保存后重新上传。如果报名数据确实超过 {max_rows} 行，请拆分成多个文件分别导入。"
    )


@contextmanager
def library_errors(step: str) -> Iterator[None]:
    """Turn any error of the reading library or an XML parser into the damaged-file message.

    A Rust panic inside calamine reaches Python as pyo3's PanicException, which derives from
    BaseException, so it is caught by name; other BaseExceptions pass through.
    """
    try:
        yield
    except ImportFileError:
        raise
    except Exception as error:
        log.warning("could not %s of an upload: %s: %s", step, type(error).__name__, error)
        raise corrupt_file_error() from error
    except BaseException as error:
        if type(error).__name__ != "PanicException":
            raise
        log.warning("calamine panicked trying to %s of an upload: %s", step, error)
        raise corrupt_file_error() from error


def _find_header(sheet: python_calamine.CalamineSheet) -> tuple[int, list]:
    """Return the Excel row number and cells of the header: the first row naming 3+ columns."""
    first_row: tuple[int, list] | None = None
    for index, values in enumerate(sheet.iter_rows()):
        if index >= HEADER_SEARCH_ROWS:
            break
        if first_row is None and any(not _is_empty(value) for value in values):
            first_row = (index + 1, values)
        if count_known_headers(values) >= 3:
            return index + 1, values
    return first_row or (1, [])


def _formulas_without_value(path: Path, extent: SheetExtent) -> set[tuple[int, int]]:
    """Find formula cells saved without a cached value, as (row number, 0-based column)."""
    if not extent.has_formula:
        return set()
    # inspect_package has checked that the member inflates to the size it declares.
    with (
        library_errors("scan the formulas"),
        zipfile.ZipFile(path) as archive,
        archive.open(extent.member) as stream,
    ):
        return _scan_formula_cells(stream)


def _scan_formula_cells(stream) -> set[tuple[int, int]]:
    found = set()
    row_number = 0
    column = -1
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        tag = element.tag.rsplit("}", 1)[-1]
        if event == "start":
            if tag == "row":
                row_number = int(element.get("r", row_number + 1))
                column = -1
            continue
        if tag == "c":
            row_number, column = _cell_position(element.get("r"), row_number, column)
            if _lacks_cached_value(element):
                found.add((row_number, column))
            element.clear()
        elif tag == "row":
            element.clear()
    return found


def _cell_position(reference: str | None, row_number: int, column: int) -> tuple[int, int]:
    """Return a cell's row and column; cells without an r attribute follow the previous one."""
    match = _CELL_REFERENCE.fullmatch(reference or "")
    if not match:
        return row_number, column + 1
    letters, digits = match.groups()
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return int(digits), index - 1


def _lacks_cached_value(cell: ElementTree.Element) -> bool:
    formula = value = None
    for child in cell:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "f":
            formula = child
        elif tag == "v":
            value = child
    if formula is None:
        return False
    if value is not None and value.text:
        return False
    # An empty <v> on a string result is a formula that computed the empty string.
    return not (value is not None and cell.get("t") == "str")
