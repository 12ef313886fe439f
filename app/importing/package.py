"""Checks of an uploaded .xlsx package before python-calamine opens it.

calamine trusts the zip and the sheet XML: it inflates every part it reads in full and
allocates a cell for every position between the first and the last cell that contains a
value. A few kilobytes can therefore make it allocate hundreds of gigabytes and abort the
process, which Python cannot catch. So the package is checked here first. The sizes that the
zip's central directory declares come first. Then every member is inflated once as a stream
within a byte budget, and each worksheet's last row and column are measured on the way.
"""

import copy
import logging
import posixpath
import re
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat

from app.importing.report import ImportFileError

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_UNPACKED_BYTES = 200 * MIB
# A member larger than this whose inflated size exceeds MAX_COMPRESSION_RATIO times its
# compressed size is a decompression bomb: sheet XML that Excel writes compresses far less.
RATIO_CHECK_MIN_BYTES = 5 * MIB
MAX_COMPRESSION_RATIO = 200
# An .xlsx that Excel writes has a few dozen parts; more only slow the central directory down.
MAX_MEMBERS = 10000
# workbook.xml and its relationships are parsed whole, so they get a budget of their own.
MAX_WORKBOOK_PART_BYTES = 10 * MIB
# Widest sheet accepted: the template has 10 columns plus the error workbook's 错误原因.
MAX_COLUMNS = 100
CHUNK_BYTES = 1 << 20

CORRUPT_FILE_MESSAGE = (
    "无法读取该 Excel 文件，文件可能已损坏。请在 Excel 中打开并重新保存为 .xlsx 后上传。"
)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELATIONS_PART = "xl/_rels/workbook.xml.rels"
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REFERENCE = re.compile(r"([A-Za-z]{1,7})(\d{1,9})")
# Exceptions that zipfile, zlib and the XML parsers raise on a damaged package. RuntimeError
# is an encrypted member, NotImplementedError an unsupported compression method.
_PACKAGE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    OSError,
    ElementTree.ParseError,
    expat.ExpatError,
)


@dataclass
class SheetExtent:
    """The used range of one worksheet part, as calamine would size it, and its formulas."""

    member: str  # zip member name, for example xl/worksheets/sheet1.xml
    last_row: int = 0  # 1-based; 0 for a sheet without rows
    last_column: int = 0  # 1-based
    has_formula: bool = False


def corrupt_file_error() -> ImportFileError:
    return ImportFileError(CORRUPT_FILE_MESSAGE)


def inspect_package(path: Path, max_unpacked_bytes: int) -> dict[str, SheetExtent]:
    """Check the zip's sizes and return the extent of each worksheet by sheet name.

    Raise ``ImportFileError`` for a decompression bomb or a damaged package.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            check_declared_sizes(members, max_unpacked_bytes)
            sheet_members = _worksheet_members(archive)
            extents = _stream_members(archive, members, sheet_members, max_unpacked_bytes)
    except ImportFileError:
        raise
    except _PACKAGE_ERRORS as error:
        log.warning("upload rejected as damaged package: %s: %s", type(error).__name__, error)
        raise corrupt_file_error() from error
    return {name: extents[member] for name, member in sheet_members.items()}


def check_declared_sizes(members: list[zipfile.ZipInfo], max_unpacked_bytes: int) -> None:
    """Reject by the central directory alone: too many members, too large, or absurdly packed."""
    if len(members) > MAX_MEMBERS:
        raise ImportFileError(
            f"文件中包含 {len(members)} 个部件，不像正常的 Excel 文件，无法导入。"
            "请在 Excel 中把报名数据复制到新的工作簿，另存为 .xlsx 后重新上传。"
        )
    declared = sum(member.file_size for member in members)
    if declared > max_unpacked_bytes:
        raise unpacked_too_large_error(declared, max_unpacked_bytes)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise ImportFileError(
                f"文件中的“{member.filename}”解压后有 {_megabytes(member.file_size)} MB，"
                f"是压缩后大小的 {ratio:.0f} 倍，不像正常的 Excel 文件，无法导入。"
                "请在 Excel 中把报名数据复制到新的工作簿，另存为 .xlsx 后重新上传。"
            )


def unpacked_too_large_error(size: int, max_unpacked_bytes: int) -> ImportFileError:
    return ImportFileError(
        f"文件解压后超过 {_megabytes(max_unpacked_bytes)} MB 的上限（至少 {_megabytes(size)} MB），"
        "可能含有大量空白格式、图片或异常内容。请在 Excel 中只保留报名数据，"
        "另存为新的 .xlsx 文件后重新上传。"
    )


def _megabytes(size: int) -> str:
    """Return a size in MiB for a message: 2, 2.5, 300."""
    return f"{round(size / MIB, 1):g}"


def _worksheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Return the zip member of each sheet named in workbook.xml, by sheet name."""
    workbook = ElementTree.fromstring(_read_small_part(archive, WORKBOOK_PART))
    relations = ElementTree.fromstring(_read_small_part(archive, WORKBOOK_RELATIONS_PART))
    targets = {
        relation.get("Id"): relation.get("Target", "")
        for relation in relations.iter(f"{{{_PACKAGE_REL_NS}}}Relationship")
    }
    members = {}
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"))
        if sheet.get("name") is not None and target:
            members[sheet.get("name")] = _resolve_target(target)
    return members


def _resolve_target(target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join("xl", target))


def _read_small_part(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        member = archive.getinfo(name)
    except KeyError:
        raise corrupt_file_error() from None
    return b"".join(member_chunks(archive, member, MAX_WORKBOOK_PART_BYTES))


def member_chunks(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int
) -> Iterator[bytes]:
    """Yield a member's inflated bytes, reading at most ``budget`` bytes of them.

    zipfile stops at the size that the central directory declares and then checks the CRC.
    With a forged CRC, a member that inflates to more than it declares would be cut short
    there while calamine reads on. So the member is opened without a size limit, and its
    real length is counted here against the budget and against the declared size.
    """
    probe = copy.copy(member)
    probe.file_size = sys.maxsize
    read = 0
    with archive.open(probe) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            read += len(chunk)
            if read > budget:
                raise _BudgetExceeded(read)
            yield chunk
    if read != member.file_size:
        log.warning(
            "zip member %s inflates to %d bytes, declares %d",
            member.filename,
            read,
            member.file_size,
        )
        raise corrupt_file_error()


class _BudgetExceeded(Exception):
    def __init__(self, read: int):
        super().__init__(read)
        self.read = read


def _stream_members(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    sheet_members: dict[str, str],
    max_unpacked_bytes: int,
) -> dict[str, SheetExtent]:
    """Inflate every member once within the total budget; measure the worksheet parts."""
    wanted = set(sheet_members.values())
    names = {member.filename for member in members}
    if not wanted <= names:
        log.warning("workbook.xml names sheet parts missing from the zip: %s", wanted - names)
        raise corrupt_file_error()
    extents = {}
    total = 0
    for member in members:
        scanner = _FastExtentScanner(member.filename) if member.filename in wanted else None
        try:
            for chunk in member_chunks(archive, member, max_unpacked_bytes - total):
                if scanner:
                    scanner.feed(chunk)
        except _BudgetExceeded as error:
            raise unpacked_too_large_error(total + error.read, max_unpacked_bytes) from None
        total += member.file_size
        if scanner:
            extents[member.filename] = scanner.finish()
            if scanner.needs_parser:
                extents[member.filename] = _parse_extent(archive, member)
    return extents


def _parse_extent(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> SheetExtent:
    """Measure a worksheet with the XML parser, for sheets the fast scan cannot read."""
    scanner = _ExtentScanner(member.filename)
    for chunk in member_chunks(archive, member, member.file_size):
        scanner.feed(chunk)
    return scanner.finish()


# Start tags of the fast scan. Excel writes an r attribute on every <c> and <row>.
# Excel writes r first (<c r="A2" s="1">); any other form falls back to the XML parser.
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,7})(\d{1,9})"')
_ROW_NUMBER = re.compile(rb'<row r="(\d{1,9})"')
_DIMENSION_TAG = re.compile(rb'<(?:\w+:)?dimension\s[^>]*?\bref="([^"]*)"')
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class _FastExtentScanner:
    """Measure a worksheet with regular expressions, about ten times faster than expat.

    It reads rows and column letters from r attributes. When a <c> start tag lacks one, or
    the XML has a DOCTYPE, ``needs_parser`` is set and the caller measures the part again
    with the XML parser. Text is cut after the last '>' of each chunk, so no start tag is
    split between two chunks.
    """

    def __init__(self, member: str):
        self.extent = SheetExtent(member=member)
        self.columns: set[bytes] = set()
        self.buffer = b""
        self.needs_parser = False

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        cut = self.buffer.rfind(b">") + 1
        text, self.buffer = self.buffer[:cut], self.buffer[cut:]
        self._scan(text)

    def _scan(self, text: bytes) -> None:
        if self.needs_parser or not text:
            return
        # Prefixed element names (<x:c>) and a DTD are legal but not what Excel writes.
        if b":c" in text or b":row" in text or _DOCTYPE.search(text):
            self.needs_parser = True
            return
        if not self.extent.has_formula and b"<f" in text and _FORMULA_TAG.search(text):
            self.extent.has_formula = True
        cells = _CELL_REF.findall(text)
        rows = _ROW_NUMBER.findall(text)
        cell_tags = text.count(b"<c ") + text.count(b"<c>") + text.count(b"<c/")
        row_tags = text.count(b"<row ") + text.count(b"<row>") + text.count(b"<row/")
        if len(cells) != cell_tags or len(rows) != row_tags:
            self.needs_parser = True
            return
        if cells:
            letters, numbers = zip(*cells)
            self.columns.update(letters)
            self.extent.last_row = max(self.extent.last_row, max(map(int, numbers)))
        if rows:
            self.extent.last_row = max(self.extent.last_row, max(map(int, rows)))
        for reference in _DIMENSION_TAG.findall(text):
            corner = reference.decode("ascii", "replace").rpartition(":")[2]
            match = _CELL_REFERENCE.fullmatch(corner)
            if match:
                self.extent.last_row = max(self.extent.last_row, int(match.group(2)))
                self.columns.add(match.group(1).encode())

    def finish(self) -> SheetExtent:
        self._scan(self.buffer)
        if self.needs_parser:
            return self.extent
        if self.columns:
            self.extent.last_column = max(column_number(c.decode()) for c in self.columns)
        return self.extent


class _ExtentScanner:
    """Track the last row and column of a worksheet's cells from the streamed XML.

    It counts every <row> and <c> element, values or not, and the <dimension> element. The
    largest position that any of them names is the extent. A cell or row without an r
    attribute follows the previous one, as in calamine. Only start tags are handled, so long
    texts never collect in memory.
    """

    def __init__(self, member: str):
        self.extent = SheetExtent(member=member)
        self.row = 0
        self.column = 0
        self.tail = b""
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        # Excel does not write a DTD, and rejecting one also rejects entity-expansion tricks.
        self.parser.StartDoctypeDeclHandler = self._reject_doctype

    def feed(self, chunk: bytes) -> None:
        if not self.extent.has_formula and _FORMULA_TAG.search(self.tail + chunk):
            self.extent.has_formula = True
        self.tail = chunk[-16:]
        self.parser.Parse(chunk, False)

    def finish(self) -> SheetExtent:
        self.parser.Parse(b"", True)
        return self.extent

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "c":
            self._cell(attributes.get("r"))
        elif tag == "row":
            number = attributes.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            self.column = 0
            self.extent.last_row = max(self.extent.last_row, self.row)
        elif tag == "dimension":
            self._dimension(attributes.get("ref", ""))

    def _cell(self, reference: str | None) -> None:
        match = _CELL_REFERENCE.fullmatch(reference or "")
        if match:
            row = int(match.group(2))
            self.column = column_number(match.group(1))
        else:
            row = self.row
            self.column += 1
        self.extent.last_row = max(self.extent.last_row, row)
        self.extent.last_column = max(self.extent.last_column, self.column)

    def _dimension(self, reference: str) -> None:
        # calamine 0.9 ignores <dimension>, but the range it declares is a claim about the
        # sheet's size that Excel keeps true, so a far corner is treated like a far cell.
        match = _CELL_REFERENCE.fullmatch(reference.rpartition(":")[2])
        if match:
            self.extent.last_row = max(self.extent.last_row, int(match.group(2)))
            self.extent.last_column = max(self.extent.last_column, column_number(match.group(1)))

    def _reject_doctype(self, *_args) -> None:
        raise ValueError("DOCTYPE in worksheet XML")


def column_number(letters: str) -> int:
    """Return the 1-based number of an Excel column name (A -> 1, XFD -> 16384)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
