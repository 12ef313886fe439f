"""Reading an uploaded workbook with python-calamine, row by row.

calamine returns a formula cell's cached value but shows a formula saved without one as an
empty cell, so such cells are found by scanning the sheet XML, streamed from the zip.
"""

import logging
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import python_calamine

from app.importing.columns import (
    HeaderError,
    column_letter,
    count_known_headers,
    match_header,
)
from app.importing.report import ImportFileError

log = logging.getLogger(__name__)

# The header must be within the first rows; a title line above it is tolerated.
HEADER_SEARCH_ROWS = 10

ZIP_MAGIC = b"PK\x03\x04"
# OLE2 compound file: Excel 97-2003 .xls, and also password-protected .xlsx.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
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
        for index, values in enumerate(self._sheet.iter_rows()):
            number = index + 1  # iter_rows starts at row 1 even when the sheet starts lower
            if number <= self.header_row:
                continue
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


def open_sheet(path: Path) -> OpenedSheet:
    """Open the workbook and find the sheet and header row to import."""
    check_workbook_format(path)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises several types for broken archives
        log.warning("calamine could not open an upload: %s", type(error).__name__)
        raise ImportFileError(
            "无法读取该 Excel 文件，文件可能已损坏。请在 Excel 中打开并重新保存为 .xlsx 后上传。"
        ) from error
    candidates = [
        meta.name
        for meta in workbook.sheets_metadata
        if meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        and meta.visible == python_calamine.SheetVisibleEnum.Visible
    ]
    if not candidates:
        raise ImportFileError("工作簿中没有可见的工作表，请在第一个工作表中填写报名数据。")

    first_error = None
    for name in candidates:
        sheet = workbook.get_sheet_by_name(name)
        header_row, header = _find_header(sheet)
        try:
            positions = match_header(header)
        except HeaderError as error:
            first_error = first_error or error
            continue
        first_column = sheet.start[1] if sheet.start else 0
        return OpenedSheet(
            path=path,
            sheet_name=name,
            header_row=header_row,
            first_column=first_column,
            positions=positions,
            data_rows=max(0, sheet.height - header_row) if sheet.height else 0,
            _sheet=sheet,
            _formula_cells=_formulas_without_value(path, name),
        )
    raise ImportFileError(str(first_error))


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


def _formulas_without_value(path: Path, sheet_name: str) -> set[tuple[int, int]]:
    """Find formula cells saved without a cached value, as (row number, 0-based column)."""
    with zipfile.ZipFile(path) as archive:
        member = _sheet_member(archive, sheet_name)
        if member is None or not _contains_formula(archive, member):
            return set()
        with archive.open(member) as stream:
            return _scan_formula_cells(stream)


def _sheet_member(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relation_id = None
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        if sheet.get("name") == sheet_name:
            relation_id = sheet.get(f"{{{_REL_NS}}}id")
    if relation_id is None:
        return None
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for relation in relations.iter(f"{{{_PACKAGE_REL_NS}}}Relationship"):
        if relation.get("Id") == relation_id:
            target = relation.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join("xl", target))
    return None


def _contains_formula(archive: zipfile.ZipFile, member: str) -> bool:
    """Search the raw XML for an <f> element in chunks; most uploads have no formula."""
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False


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
