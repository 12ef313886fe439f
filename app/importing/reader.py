"""Reading an uploaded workbook with python-calamine, row by row.

Before calamine opens the file, ``package.inspect_package`` checks its sizes and the used
range of each sheet, because calamine aborts the whole process on a bomb. calamine returns a
formula cell's cached value but shows a formula saved without one as an empty cell, so such
cells are found by scanning the sheet XML, streamed from the zip.
"""

import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
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
from app.importing.package import (
    MAX_COLUMNS,
    SheetExtent,
    corrupt_file_error,
    inspect_package,
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
# Cell references (r="XFD1048576") and the dimension's far corner, read from raw sheet XML.
_CELL_REF_ATTRIBUTE = re.compile(rb'\sr="([A-Z]{1,3})(\d{1,7})"')
_DIMENSION_REF = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="[A-Z]*\d*:?([A-Z]{1,3})(\d{1,7})"')

# calamine allocates the sheet's whole bounding box (rows x columns) at once, so a single
# cell at XFD1048576 in a 5 KB file asks for hundreds of GB and aborts the process.
MAX_SHEET_COLUMNS = 200
MAX_SHEET_ROWS = 200_000
# Deflate packs up to about 1000:1; the unpacked parts of an upload are bounded.
DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024

CORRUPT_FILE_MESSAGE = (
    "无法读取该 Excel 文件，文件可能已损坏。请在 Excel 中打开并重新保存为 .xlsx 后上传。"
)


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
        _check_unpacked_size(archive)
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            detail = "这是 Excel 二进制工作簿（.xlsb）"
        elif "content.xml" in names:
            detail = "这是 OpenDocument 表格（.ods）"
        else:
            detail = "文件是压缩包但不是 Excel 工作簿"
        raise ImportFileError(f"{detail}，无法读取。请另存为 Excel 工作簿（.xlsx）后重新上传。")


def _max_unpacked_bytes() -> int:
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config.get("IMPORT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES)
    return DEFAULT_MAX_UNPACKED_BYTES


def _check_unpacked_size(archive: zipfile.ZipFile) -> None:
    """Reject a zip bomb: too many unpacked bytes, declared or actually read.

    The central directory may lie, so every part is also decompressed once; Python's zipfile
    stops at the declared size and then fails the CRC check when more data follows.
    """
    limit = _max_unpacked_bytes()
    declared = sum(info.file_size for info in archive.infolist())
    too_big = ImportFileError(
        f"文件解压后超过 {limit // (1024 * 1024)} MB，不像正常的报名表（可能含有大量空白格式或异常数据）。"
        "请把数据复制到“下载导入模板”得到的新表格中再上传。"
    )
    if declared > limit:
        raise too_big
    read = 0
    try:
        for info in archive.infolist():
            with archive.open(info) as stream:
                while chunk := stream.read(1 << 20):
                    read += len(chunk)
                    if read > limit:
                        raise too_big
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as error:
        log.warning("upload failed the zip integrity check: %s", type(error).__name__)
        raise ImportFileError(CORRUPT_FILE_MESSAGE) from error


def check_sheet_extent(path: Path, sheet_name: str) -> None:
    """Reject a sheet whose used range is far beyond an enrollment list, before calamine."""
    with zipfile.ZipFile(path) as archive:
        member = _sheet_member(archive, sheet_name)
        if member is None or member not in archive.namelist():
            raise ImportFileError(CORRUPT_FILE_MESSAGE)
        last_row, last_column = _scan_extent(archive, member)
    if last_column > MAX_SHEET_COLUMNS or last_row > MAX_SHEET_ROWS:
        last_cell = f"{column_letter(last_column - 1)}{last_row}"
        raise ImportFileError(
            f"工作表“{sheet_name}”的使用范围一直延伸到单元格 {last_cell}，远超报名表的大小。"
            "请删除数据下方和右侧多余的行和列（设置过格式的空单元格也算在内），"
            "或把数据复制到新的模板中再上传。"
        )


def _scan_extent(archive: zipfile.ZipFile, member: str) -> tuple[int, int]:
    """Return the largest row number and 1-based column named in a sheet's XML."""
    last_row = last_column = 0
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 20):
            text = tail + chunk
            for pattern in (_CELL_REF_ATTRIBUTE, _DIMENSION_REF):
                for letters, digits in pattern.findall(text):
                    last_row = max(last_row, int(digits))
                    last_column = max(last_column, _column_number(letters))
            tail = chunk[-64:]
    return last_row, last_column


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def open_sheet(path: Path) -> OpenedSheet:
    """Open the workbook and find the sheet and header row to import."""
    check_workbook_format(path)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises several types for broken archives
        log.warning("calamine could not open an upload: %s", type(error).__name__)
        raise ImportFileError(CORRUPT_FILE_MESSAGE) from error
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
        try:
            check_sheet_extent(path, name)
            sheet = workbook.get_sheet_by_name(name)
            header_row, header = _find_header(sheet)
            formula_cells = _formulas_without_value(path, name)
        except ImportFileError:
            raise
        except Exception as error:  # calamine's XmlError and others, ElementTree's ParseError
            log.warning("reading sheet of an upload failed: %s", type(error).__name__)
            raise ImportFileError(CORRUPT_FILE_MESSAGE) from error
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
            _formula_cells=formula_cells,
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
