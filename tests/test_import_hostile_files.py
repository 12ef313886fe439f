"""Hostile or broken workbooks: oversized ranges, zip bombs and damaged XML are rejected with
a Chinese message before the reading library can exhaust memory."""

import shutil
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from app.importing.reader import CORRUPT_FILE_MESSAGE
from app.importing.report import ImportFileError
from app.importing.validation import validate_workbook
from tests.test_import_support import fixture_path, person_row, resident_id, write_workbook


def rewrite_member(path, member: str, change) -> None:
    """Rewrite one part of a workbook zip with change(bytes) -> bytes."""
    copy = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info, change(data) if info.filename == member else data)
    shutil.move(copy, path)


def rejection(app, path) -> str:
    with app.app_context(), pytest.raises(ImportFileError) as raised:
        validate_workbook(path, None, max_rows=20000)
    return str(raised.value)


def test_far_away_cell_is_rejected(app, tmp_path):
    path = tmp_path / "far.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名 (必填)", "证件类型 (必填)", "证件号 (必填)"])
    sheet["XFD1048576"] = "x"
    book.save(path)

    message = rejection(app, path)

    assert "一直延伸到单元格 XFD1048576" in message
    assert "删除数据下方和右侧多余的行和列" in message


def test_lying_dimension_is_rejected(app, tmp_path):
    path = write_workbook(tmp_path / "dimension.xlsx", [person_row(resident_id(date(1990, 1, 1)))])
    rewrite_member(
        path,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<dimension ref="A1:J2"/>', b'<dimension ref="A1:ZZ900000"/>'),
    )
    assert "ZZ900000" in rejection(app, path)


def test_wide_but_sane_sheet_is_read(app, tmp_path):
    row = person_row(resident_id(date(1990, 1, 1)))
    path = write_workbook(tmp_path / "wide.xlsx", [row + [""] * 30 + ["备注"]])
    with app.app_context():
        report = validate_workbook(path, None, max_rows=20000)
    assert [result.status for result in report.rows] == ["ok"]


def test_zip_bomb_is_rejected(app, tmp_path):
    path = write_workbook(tmp_path / "bomb.xlsx", [person_row(resident_id(date(1990, 1, 1)))])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (3 * 1024 * 1024))
    app.config["IMPORT_MAX_UNPACKED_BYTES"] = 2 * 1024 * 1024
    try:
        message = rejection(app, path)
    finally:
        app.config["IMPORT_MAX_UNPACKED_BYTES"] = 200 * 1024 * 1024
    assert message.startswith("文件解压后超过 2 MB")


def test_truncated_sheet_xml_is_reported(app, tmp_path):
    path = tmp_path / "truncated.xlsx"
    shutil.copy(fixture_path("clean"), path)
    rewrite_member(path, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2])
    assert rejection(app, path) == CORRUPT_FILE_MESSAGE


def test_missing_sheet_part_is_reported(app, tmp_path):
    path = tmp_path / "missing.xlsx"
    source = fixture_path("clean")
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as out:
        for info in original.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, original.read(info))
    assert rejection(app, path) == CORRUPT_FILE_MESSAGE


def test_corrupt_deflate_stream_is_reported(app, tmp_path):
    path = tmp_path / "crc.xlsx"
    shutil.copy(fixture_path("clean"), path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    # Flip bytes inside the member's compressed data (after its 30-byte local header).
    start = info.header_offset + 30 + len(info.filename) + 40
    for offset in range(start, start + 8):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    assert rejection(app, path) == CORRUPT_FILE_MESSAGE


def test_clean_fixture_still_imports(app):
    with app.app_context():
        report = validate_workbook(fixture_path("clean"), None, max_rows=20000)
    assert sum(result.status == "ok" for result in report.rows) == 12
    assert load_workbook(fixture_path("clean"), read_only=True).sheetnames == ["Sheet1"]


def test_error_workbook_keeps_formula_text_as_text(app, tmp_path):
    from app.importing.catalog import load_catalog
    from app.importing.error_workbook import write_error_workbook

    typed = '=HYPERLINK("http://127.0.0.1:1/x","点我")'
    row = person_row(resident_id(date(1990, 1, 1)))
    row[0] = typed
    row[4] = "12345"  # an invalid phone, so the row goes to the error workbook
    path = write_workbook(tmp_path / "typed.xlsx", [row])
    book = load_workbook(path)
    book.worksheets[0]["A2"].data_type = "s"  # typed text, as Excel stores it, not a formula
    book.save(path)
    out = tmp_path / "errors.xlsx"
    with app.app_context():
        report = validate_workbook(path, None, max_rows=20000)
        write_error_workbook(report, load_catalog(), 20000, out)

    cell = load_workbook(out).worksheets[0]["A2"]
    assert cell.data_type == "s"
    assert cell.value == typed
