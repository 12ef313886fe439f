"""Hostile and odd uploads: huge ranges, zip bombs, damaged parts, formula text, empty files,
future birth dates, invisible characters, and the pages and downloads around them."""

import struct
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.importing import ImportFileError, validate_workbook
from app.importing.catalog import load_catalog
from app.importing.error_workbook import write_error_workbook
from app.importing.reader import CORRUPT_FILE_MESSAGE
from app.models import Enrollment, ImportJob, Trainee
from tests.test_import_support import HEADERS, person_row, resident_id, write_workbook
from tests.test_import_web import admin, confirm, job_id_from, upload  # noqa: F401

TODAY = date(2026, 12, 4)
SHEET = "xl/worksheets/sheet1.xml"
MIB = 1024 * 1024
FAR_CELL_MESSAGE = (
    "工作表“报名信息”的使用范围一直延伸到单元格 XFD1048576（第 1048576 行、第 16384 列），"
    "超出了可导入的范围（最多 20010 行、100 列）。请在 Excel 中按 Ctrl+End 找到这个单元格，"
    "删除数据下方和右侧多余的行和列（选中整行或整列后右键“删除”；只清除内容不够，"
    "设置过格式或边框的空单元格也算在内），保存后重新上传。"
    "如果报名数据确实超过 20000 行，请拆分成多个文件分别导入。"
)
# openpyxl writes the name 林测试 as character references.
NAME_START = b"<t>&#26519;"
NO_DATA = "文件中没有报名数据：表头下方没有填写任何行，请填写后重新上传。"


def valid_row(name: str = "林测试", serial: int = 12) -> list:
    return person_row(name=name, id_number=resident_id(date(1985, 6, 15), serial=serial))


def rejection(app, path: Path, max_rows: int = 20000) -> str:
    with app.app_context(), pytest.raises(ImportFileError) as raised:
        validate_workbook(path, None, max_rows=max_rows, today=TODAY)
    return raised.value.message


def rewrite_member(path: Path, member: str, change) -> Path:
    """Rewrite one zip member with change(bytes) -> bytes, or drop it when change returns None."""
    with zipfile.ZipFile(path) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts:
            data = change(data) if name == member else data
            if data is not None:
                archive.writestr(name, data)
    return path


def with_sheet_data(path: Path, rows_xml: str) -> Path:
    """Append raw <row> XML after the rows that openpyxl wrote."""
    return rewrite_member(
        path, SHEET, lambda xml: xml.replace(b"</sheetData>", rows_xml.encode() + b"</sheetData>")
    )


def set_declared_size(path: Path, member: str, size: int) -> None:
    """Overwrite the uncompressed size that the local header and central directory declare."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    name = member.encode()
    entry = data.find(b"PK\x01\x02")  # the first central directory entry
    while entry != -1:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if bytes(data[entry + 46 : entry + 46 + name_length]) == name:
            struct.pack_into("<I", data, entry + 24, size)
            break
        entry = data.find(b"PK\x01\x02", entry + 46)
    assert entry != -1, f"{member} not in the central directory"
    path.write_bytes(bytes(data))


def uploads_in(app) -> set[Path]:
    return set(Path(app.config["IMPORT_DIR"]).glob("*.upload"))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def assert_upload_rejected(app, client, path: Path, message: str) -> None:
    """Upload through the web page: 400, the message shown, no job, no file kept."""
    before = uploads_in(app)
    response = upload(client, path)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, ImportJob) == 0
    assert count(app, Enrollment) == 0
    assert uploads_in(app) == before


def run_cli(app, path: Path):
    runner = app.test_cli_runner()
    return runner.invoke(
        args=["enrollments", "import", str(path), "--unit", "DEMO", "--position", "安全员"]
    )


# --- used range of the sheet ---------------------------------------------------------------


@pytest.fixture
def far_cell_path(tmp_path) -> Path:
    path = write_workbook(tmp_path / "far.xlsx", [valid_row()])
    return with_sheet_data(
        path, '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    )


def test_far_cell_rejected_by_validation(app, far_cell_path):
    assert rejection(app, far_cell_path) == FAR_CELL_MESSAGE


def test_far_cell_rejected_at_upload(app, admin, far_cell_path):  # noqa: F811
    assert_upload_rejected(app, admin, far_cell_path, FAR_CELL_MESSAGE)


def test_far_cell_rejected_by_cli(app, far_cell_path):
    result = run_cli(app, far_cell_path)
    assert result.exit_code == 1
    assert FAR_CELL_MESSAGE in result.output
    assert count(app, Enrollment) == 0


def test_formatted_cell_far_below_counts(app, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "报名信息"
    sheet.append(HEADERS)
    sheet.append(valid_row())
    sheet["C200"].number_format = "@"  # formatting only, no value
    workbook.save(tmp_path / "styled.xlsx")
    message = rejection(app, tmp_path / "styled.xlsx", max_rows=100)
    assert message.startswith(
        "工作表“报名信息”的使用范围一直延伸到单元格 J200（第 200 行、第 10 列），"
        "超出了可导入的范围（最多 110 行、100 列）。"
    )


def test_row_element_without_cells_counts(app, tmp_path):
    path = with_sheet_data(write_workbook(tmp_path / "r.xlsx", [valid_row()]), '<row r="500"/>')
    assert "一直延伸到单元格 J500（第 500 行、第 10 列）" in rejection(app, path, max_rows=100)


def test_cells_without_reference_count(app, tmp_path):
    # Cells without r follow each other, so 150 of them reach column 150 (ET).
    cells = '<c t="inlineStr"><is><t>x</t></is></c>' * 150
    path = with_sheet_data(
        write_workbook(tmp_path / "n.xlsx", [valid_row()]), f"<row>{cells}</row>"
    )
    assert "一直延伸到单元格 ET3（第 3 行、第 150 列）" in rejection(app, path)


def test_lying_dimension_counts(app, tmp_path):
    path = write_workbook(tmp_path / "d.xlsx", [valid_row()])
    rewrite_member(path, SHEET, lambda xml: xml.replace(b'ref="A1:J2"', b'ref="A1:XFD1048576"'))
    assert rejection(app, path) == FAR_CELL_MESSAGE


def test_many_rows_beyond_limit_rejected(app, tmp_path):
    rows = "".join(
        f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>x</t></is></c></row>'
        for number in range(3, 2003)
    )
    path = with_sheet_data(write_workbook(tmp_path / "rows.xlsx", [valid_row()]), rows)
    message = rejection(app, path, max_rows=100)
    assert (
        "一直延伸到单元格 J2002（第 2002 行、第 10 列），超出了可导入的范围（最多 110 行" in message
    )
    assert message.endswith("如果报名数据确实超过 100 行，请拆分成多个文件分别导入。")


def test_formatting_within_header_slack_accepted(app, tmp_path):
    path = with_sheet_data(write_workbook(tmp_path / "ok.xlsx", [valid_row()]), '<row r="15"/>')
    with app.app_context():
        report = validate_workbook(path, None, max_rows=5, today=TODAY)
    assert [(row.row, row.status) for row in report.rows] == [(2, "ok")]


def test_template_fits_small_row_limit(app, admin, tmp_path):  # noqa: F811
    app.config["IMPORT_MAX_ROWS"] = 50
    try:
        path = tmp_path / "template.xlsx"
        path.write_bytes(admin.get("/imports/template").data)
        workbook = load_workbook(path)
        for column, value in enumerate(valid_row(name="模板"), start=1):
            workbook["报名信息"].cell(row=2, column=column, value=value)
        workbook.save(path)
        with app.app_context():
            report = validate_workbook(path, None, max_rows=50, today=TODAY)
    finally:
        app.config["IMPORT_MAX_ROWS"] = 20000
    assert [(row.row, row.status) for row in report.rows] == [(2, "ok")]


# --- zip bombs -----------------------------------------------------------------------------


def test_declared_size_above_limit_rejected(app, admin, tmp_path):  # noqa: F811
    path = write_workbook(tmp_path / "declared.xlsx", [valid_row()])
    set_declared_size(path, SHEET, 300 * MIB)
    message = (
        "文件解压后超过 200 MB 的上限（至少 300 MB），可能含有大量空白格式、图片或异常内容。"
        "请在 Excel 中只保留报名数据，另存为新的 .xlsx 文件后重新上传。"
    )
    assert rejection(app, path) == message
    assert_upload_rejected(app, admin, path, message)


def test_setting_lowers_unpacked_limit(app, tmp_path):
    path = write_workbook(tmp_path / "big.xlsx", [valid_row()])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.png", bytes(range(256)) * 8192)  # 2 MiB
    app.config["IMPORT_MAX_UNPACKED_BYTES"] = MIB
    try:
        message = rejection(app, path)
    finally:
        app.config["IMPORT_MAX_UNPACKED_BYTES"] = 200 * MIB
    assert message.startswith("文件解压后超过 1 MB 的上限（至少 2 MB）")


def test_huge_string_cell_rejected_by_ratio(app, tmp_path):
    # A single 6 MiB text cell deflates to a few kilobytes: calamine would hold all of it.
    text = "A" * (6 * MIB)
    row = f'<row r="3"><c r="A3" t="inlineStr"><is><t>{text}</t></is></c></row>'
    path = with_sheet_data(write_workbook(tmp_path / "string.xlsx", [valid_row()]), row)
    message = rejection(app, path)
    assert message.startswith(f"文件中的“{SHEET}”解压后有 6 MB，是压缩后大小的 ")
    assert message.endswith(
        "倍，不像正常的 Excel 文件，无法导入。"
        "请在 Excel 中把报名数据复制到新的工作簿，另存为 .xlsx 后重新上传。"
    )


def test_member_larger_than_declared_rejected(app, tmp_path):
    # The central directory claims 2 KB, but the sheet inflates to about 400 KB.
    rows = "".join(
        f'<row r="{number}"><c r="K{number}" t="inlineStr"><is><t>{number:08d}</t></is></c></row>'
        for number in range(3, 5003)
    )
    path = with_sheet_data(write_workbook(tmp_path / "lie.xlsx", [valid_row()]), rows)
    set_declared_size(path, SHEET, 2048)
    assert rejection(app, path) == CORRUPT_FILE_MESSAGE


def test_lying_member_stops_at_budget(app, tmp_path):
    path = write_workbook(tmp_path / "lie.xlsx", [valid_row()])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (3 * MIB))
    set_declared_size(path, "xl/media/padding.bin", 100)
    app.config["IMPORT_MAX_UNPACKED_BYTES"] = MIB
    try:
        message = rejection(app, path)
    finally:
        app.config["IMPORT_MAX_UNPACKED_BYTES"] = 200 * MIB
    assert message.startswith("文件解压后超过 1 MB 的上限（至少 ")


# --- damaged parts -------------------------------------------------------------------------

SHARED_STRINGS_RELATION = (
    '<Relationship Id="rIdSS" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/sharedStrings"/>'
)


def with_shared_strings(path: Path, strings_xml: bytes) -> Path:
    """Add a sharedStrings part and make cell A2 refer to its first string."""
    rewrite_member(
        path,
        "xl/_rels/workbook.xml.rels",
        lambda xml: xml.replace(
            b"</Relationships>", SHARED_STRINGS_RELATION.encode() + b"</Relationships>"
        ),
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/sharedStrings.xml", strings_xml)

    def refer(xml: bytes) -> bytes:
        start = xml.index(b'<c r="A2"')
        end = xml.index(b"</c>", start) + 4
        return xml[:start] + b'<c r="A2" t="s"><v>0</v></c>' + xml[end:]

    return rewrite_member(path, SHEET, refer)


def shared_strings(text: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>'
    )


def test_shared_strings_read(app, tmp_path):
    path = with_shared_strings(
        write_workbook(tmp_path / "ss.xlsx", [valid_row()]), shared_strings("林共享").encode()
    )
    with app.app_context():
        report = validate_workbook(path, None, max_rows=100, today=TODAY)
    assert report.rows[0].values["姓名"] == "林共享"


@pytest.mark.parametrize(
    ("case", "damage"),
    [
        ("truncated sheet", lambda path: rewrite_member(path, SHEET, lambda xml: xml[:-300])),
        ("missing sheet", lambda path: rewrite_member(path, SHEET, lambda xml: None)),
        (
            "truncated workbook",
            lambda path: rewrite_member(path, "xl/workbook.xml", lambda x: x[:99]),
        ),
        (
            "doctype in sheet",
            lambda path: rewrite_member(
                path, SHEET, lambda xml: b'<!DOCTYPE worksheet [<!ENTITY a "x">]>' + xml
            ),
        ),
        (
            "shared strings in GBK",
            lambda path: with_shared_strings(
                path, shared_strings("林测试").replace("UTF-8", "GBK").encode("gbk")
            ),
        ),
        (
            "shared strings not UTF-8",
            lambda path: with_shared_strings(path, shared_strings("林测试").encode("gbk")),
        ),
        (
            "truncated shared strings",
            lambda path: with_shared_strings(path, shared_strings("林测试").encode()[:-20]),
        ),
        (
            "formula scan of a bad row number",
            lambda path: rewrite_member(
                path,
                SHEET,
                lambda xml: xml.replace(b'<row r="2">', b'<row r="x2">').replace(
                    b"</sheetData>", b'<row><c r="K5"><f>1+1</f></c></row></sheetData>'
                ),
            ),
        ),
    ],
)
def test_damaged_part_gives_file_error(app, tmp_path, case, damage):
    path = write_workbook(tmp_path / "damaged.xlsx", [valid_row()])
    damage(path)
    assert rejection(app, path) == CORRUPT_FILE_MESSAGE, case


def test_damaged_sheet_upload_is_400(app, admin, tmp_path):  # noqa: F811
    path = write_workbook(tmp_path / "damaged.xlsx", [valid_row()])
    rewrite_member(path, SHEET, lambda xml: xml[: len(xml) // 2])
    assert_upload_rejected(app, admin, path, CORRUPT_FILE_MESSAGE)


def test_damaged_sheet_cli_message(app, tmp_path):
    path = write_workbook(tmp_path / "damaged.xlsx", [valid_row()])
    rewrite_member(path, SHEET, lambda xml: xml[: len(xml) // 2])
    result = run_cli(app, path)
    assert result.exit_code == 1
    assert CORRUPT_FILE_MESSAGE in result.output


# --- error workbook echoes text as text ----------------------------------------------------

TYPED_TEXTS = ['=HYPERLINK("http://127.0.0.1:1/x","点我")', "+86 1", "-1+2", "@SUM(A1)"]


def test_error_workbook_keeps_formula_text(app, admin, tmp_path):  # noqa: F811
    rows = []
    for serial, text in enumerate(TYPED_TEXTS, start=20):
        row = valid_row(serial=serial)
        row[0] = text  # 姓名
        row[6] = text  # 学历 (optional, free text)
        row[8] = "潜水"  # an unknown project, so the row is an error row
        rows.append(row)
    path = write_workbook(tmp_path / "typed.xlsx", rows)
    workbook = load_workbook(path)
    for row_number in range(2, 2 + len(rows)):
        for column in ("A", "G"):
            workbook.active[f"{column}{row_number}"].data_type = "s"  # typed as text in Excel
    workbook.save(path)

    job_id = job_id_from(upload(admin, path))
    first_page = admin.get(f"/imports/{job_id}").get_data(as_text=True)
    response = admin.get(f"/imports/{job_id}/errors.xlsx")
    downloaded = tmp_path / "errors.xlsx"
    downloaded.write_bytes(response.data)
    sheet = load_workbook(downloaded)["报名信息"]
    for row_number, text in enumerate(TYPED_TEXTS, start=2):
        for column in ("A", "G"):
            assert sheet[f"{column}{row_number}"].data_type == "s"
            assert sheet[f"{column}{row_number}"].value == text

    second_id = job_id_from(upload(admin, downloaded))
    second_page = admin.get(f"/imports/{second_id}").get_data(as_text=True)
    assert "formula" not in second_page
    assert "是公式" not in second_page
    with app.app_context():
        first = db.session.get(ImportJob, job_id).report_json
        second = db.session.get(ImportJob, second_id).report_json
    assert second == first
    assert 'data-testid="error-rows">4<' in first_page


def test_error_workbook_drops_control_characters(app, tmp_path):
    path = write_workbook(tmp_path / "c.xlsx", [valid_row()])
    rewrite_member(path, SHEET, lambda xml: xml.replace(NAME_START, b"<t>_x0007_&#26519;"))
    out = tmp_path / "errors.xlsx"
    with app.app_context():
        report = validate_workbook(path, None, max_rows=100, today=TODAY)
        written = write_error_workbook(report, load_catalog(), 100, out)
    assert written == 1
    assert load_workbook(out)["报名信息"]["A2"].value == "林测试"


# --- files without data rows ---------------------------------------------------------------


def test_header_only_rejected(app, admin, tmp_path):  # noqa: F811
    path = write_workbook(tmp_path / "header.xlsx", [])
    assert rejection(app, path) == NO_DATA
    assert_upload_rejected(app, admin, path, NO_DATA)


def test_blank_rows_only_fail_job(app, admin, tmp_path):  # noqa: F811
    path = write_workbook(tmp_path / "blank.xlsx", [[" ", None, "\u3000"], ["\u200b"]])
    assert rejection(app, path) == NO_DATA
    response = upload(admin, path)
    job_id = job_id_from(response)
    page = admin.get(f"/imports/{job_id}").get_data(as_text=True)
    assert NO_DATA in page
    assert 'value="确定"' not in page
    assert "下载错误数据" not in page
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.status == "failed"
        assert not Path(job.stored_path).exists()
    assert count(app, Enrollment) == 0


# --- birth dates ---------------------------------------------------------------------------


FUTURE_BIRTH = (
    "身份证号中的出生日期 {} 晚于今天，不可能是学员的出生日期。请核对证件号，可能有数字输错。"
)
AGE = "按身份证号中的出生日期 {}，学员今天 {} 岁，{}。请核对证件号。"


@pytest.mark.parametrize(
    ("birth", "message"),
    [
        (date(2030, 1, 1), FUTURE_BIRTH.format("2030-01-01")),
        (date(2026, 12, 5), FUTURE_BIRTH.format("2026-12-05")),
        (date(2026, 12, 4), AGE.format("2026-12-04", 0, "未满 18 岁")),
        (date(2008, 12, 5), AGE.format("2008-12-05", 17, "未满 18 岁")),
        (date(1925, 12, 4), AGE.format("1925-12-04", 101, "超过 100 岁")),
    ],
)
def test_implausible_birth_dates(app, tmp_path, birth, message):
    row = person_row(id_number=resident_id(birth))
    with app.app_context():
        report = validate_workbook(
            write_workbook(tmp_path / "b.xlsx", [row]), None, max_rows=10, today=TODAY
        )
    errors = report.rows[0].errors
    assert [(error.column, error.kind) for error in errors] == [("证件号", "implausible_age")]
    assert errors[0].message == message


# --- upload form, preview table, download names --------------------------------------------


def test_unknown_position_gets_chinese_message(app, admin, tmp_path):  # noqa: F811
    path = write_workbook(tmp_path / "p.xlsx", [valid_row()])
    response = upload(admin, path, position="董事长")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<div class="invalid-feedback">管理岗位无效，请重新选择</div>' in page
    assert "Not a valid choice" not in page
    assert count(app, ImportJob) == 0


def test_preview_keeps_ids_and_columns_on_one_line(admin, tmp_path):  # noqa: F811
    number = resident_id(date(1985, 6, 15))
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    path = write_workbook(tmp_path / "id.xlsx", [person_row(id_number=wrong)])
    page = admin.get(f"/imports/{job_id_from(upload(admin, path))}").get_data(as_text=True)
    assert '<td class="text-nowrap">证件号</td>' in page
    assert f'<td class="text-nowrap font-monospace">{wrong}</td>' in page


def test_error_download_has_ascii_fallback_name(admin, tmp_path):  # noqa: F811
    path = write_workbook(tmp_path / "e.xlsx", [valid_row()[:4] + ["123"] + valid_row()[5:]])
    job_id = job_id_from(upload(admin, path))
    response = admin.get(f"/imports/{job_id}/errors.xlsx")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=import-errors-{job_id[:8]}.xlsx; "
        "filename*=UTF-8''%E5%AF%BC%E5%85%A5%E9%94%99%E8%AF%AF%E6%95%B0%E6%8D%AE.xlsx"
    )


def test_template_download_has_ascii_fallback_name(admin):  # noqa: F811
    response = admin.get("/imports/template")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=enrollment-import-template.xlsx; "
        "filename*=UTF-8''%E6%8A%A5%E5%90%8D%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    )


# --- invisible characters ------------------------------------------------------------------


def test_format_characters_stripped_before_storing(app, admin, tmp_path):  # noqa: F811
    row = valid_row(name="林\u200b测试\u200d")
    row[1] = "\ufeff身份证"
    row[4] = "1380592\u20600001"
    row[8] = "电梯\u200e"
    headers = ["姓名\u200b (必填)", *HEADERS[1:]]
    path = write_workbook(tmp_path / "zw.xlsx", [row], headers=headers)
    job_id = job_id_from(upload(admin, path))
    assert confirm(admin, job_id).status_code == 302
    with app.app_context():
        trainee = db.session.scalar(select(Trainee))
        enrollment = db.session.scalar(select(Enrollment))
        assert trainee.name == "林测试"
        assert trainee.id_type == "身份证"
        assert enrollment.training_project == "电梯"


def test_only_format_characters_is_missing(app, tmp_path):
    row = valid_row(name="\u200b\u200c")
    with app.app_context():
        report = validate_workbook(write_workbook(tmp_path / "m.xlsx", [row]), None, max_rows=10)
    errors = report.rows[0].errors
    assert [(error.column, error.kind, error.message) for error in errors] == [
        ("姓名", "missing", "“姓名”为必填项，请填写。")
    ]


def test_control_character_in_name_rejected(app, tmp_path):
    path = write_workbook(tmp_path / "c.xlsx", [valid_row()])
    rewrite_member(path, SHEET, lambda xml: xml.replace(NAME_START, b"<t>&#26519;_x0007_"))
    with app.app_context():
        report = validate_workbook(path, None, max_rows=10, today=TODAY)
    errors = report.rows[0].errors
    assert [(error.column, error.kind, error.message) for error in errors] == [
        (
            "姓名",
            "control_character",
            "“姓名”中含有看不见的控制字符（U+0007），请清空该单元格后重新输入。",
        )
    ]
