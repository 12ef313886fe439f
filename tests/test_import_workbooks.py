"""Workbooks written in the tests, one per kind of fault the shared fixtures lack."""

from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from app.extensions import db
from app.importing import ImportFileError, validate_workbook
from app.importing.store import StoreRequest, store_report
from app.models import Enrollment, Trainee, Unit
from tests.test_import_support import (
    HEADERS,
    add_cached_value,
    person_row,
    resident_id,
    write_workbook,
)

TODAY = date(2026, 12, 4)
MAX_ROWS = 100


@pytest.fixture
def unit_id(app_context):
    return db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))


def validate(path, unit_id, today=TODAY, max_rows=MAX_ROWS):
    return validate_workbook(path, unit_id, max_rows=max_rows, today=today)


def only_row(report):
    assert len(report.rows) == 1
    return report.rows[0]


def error_pairs(row):
    return [(error.column, error.kind) for error in row.errors]


# --- formulas ------------------------------------------------------------------------------


def test_formula_with_cached_value_counts_as_value(tmp_path, unit_id):
    path = write_workbook(tmp_path / "f.xlsx", [person_row(phone='=CONCATENATE("1371234","0005")')])
    add_cached_value(path, "E2", "13712340005")
    row = only_row(validate(path, unit_id))
    assert row.status == "ok", row.errors
    assert row.values["手机号码"] == "13712340005"


def test_formula_with_cached_number_counts_as_value(tmp_path, unit_id):
    path = write_workbook(tmp_path / "f.xlsx", [person_row(phone="=13712340000+5")])
    add_cached_value(path, "E2", "13712340005", text=False)
    row = only_row(validate(path, unit_id))
    assert row.status == "ok", row.errors
    assert row.values["手机号码"] == "13712340005"


def test_formula_without_value_names_cell(tmp_path, unit_id):
    path = write_workbook(tmp_path / "f.xlsx", [person_row(phone='=CONCATENATE("137","12340005")')])
    row = only_row(validate(path, unit_id))
    assert row.status == "error"
    assert error_pairs(row) == [("手机号码", "formula_without_value")]
    assert row.errors[0].cell == "E2"
    assert "E2" in row.errors[0].message


def test_formula_without_value_in_id_column(tmp_path, unit_id):
    rows = [person_row(name="甲"), person_row(name="乙", id_number='=A1&"x"', project="锅炉")]
    path = write_workbook(tmp_path / "f.xlsx", rows)
    report = validate(path, unit_id)
    assert report.rows[0].status == "ok"
    assert error_pairs(report.rows[1]) == [("证件号", "formula_without_value")]
    assert "C3" in report.rows[1].errors[0].message


# --- phone numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        13712340005,
        13712340005.0,
        "+86 137 1234 0005",
        "+8613712340005",
        "8613712340005",
        "+86-137-1234-0005",
        "'13712340005",
        "１３７１２３４０００５",
        "137\u30001234\u30000005",
        " 137-1234-0005 ",
    ],
)
def test_phone_forms_normalize(tmp_path, unit_id, phone):
    path = write_workbook(tmp_path / "p.xlsx", [person_row(phone=phone)])
    row = only_row(validate(path, unit_id))
    assert row.status == "ok", row.errors
    assert row.values["手机号码"] == "13712340005"


@pytest.mark.parametrize(
    "phone", ["12712340005", "1371234000", "137123400051", "05925551234", "1371234000.5", "abc"]
)
def test_invalid_phones_rejected(tmp_path, unit_id, phone):
    path = write_workbook(tmp_path / "p.xlsx", [person_row(phone=phone)])
    row = only_row(validate(path, unit_id))
    assert error_pairs(row) == [("手机号码", "invalid_phone")]


def test_phone_as_fraction_rejected(tmp_path, unit_id):
    path = write_workbook(tmp_path / "p.xlsx", [person_row(phone=13712340005.5)])
    row = only_row(validate(path, unit_id))
    assert error_pairs(row) == [("手机号码", "invalid_phone")]


# --- headers -------------------------------------------------------------------------------


def test_full_width_brackets_and_spaces_in_headers(tmp_path, unit_id):
    headers = [
        "姓名（必填）",
        "证件类型\u3000（必填）",
        " 证件号（必填） ",
        "性别(必填)",
        "手机号码（必填）",
        "最高学历 （必填）",
        "学历（选 填）",
        "培训类型（必填）",
        "培训项目（必填）",
        "是否持有特种设备安全\u3000管理证书（必填）",
    ]
    path = write_workbook(tmp_path / "h.xlsx", [person_row()], headers=headers)
    row = only_row(validate(path, unit_id))
    assert row.status == "ok", row.errors
    assert row.values["是否持有特种设备安全管理证书"] == "否"


def test_headers_in_different_order(tmp_path, unit_id):
    order = [9, 8, 4, 0, 2, 1, 3, 5, 7]  # 学历 left out: it is optional
    values = person_row(name="倒序", phone="15900001111", project="锅炉")
    path = write_workbook(
        tmp_path / "o.xlsx",
        [[values[i] for i in order]],
        headers=[HEADERS[i] for i in order],
    )
    row = only_row(validate(path, unit_id))
    assert row.status == "ok", row.errors
    assert row.values["姓名"] == "倒序"
    assert row.values["手机号码"] == "15900001111"
    assert row.values["培训项目"] == "锅炉"
    assert row.values["学历"] == ""


def test_missing_required_column_is_file_error(tmp_path, unit_id):
    headers = [h for h in HEADERS if not h.startswith("手机号码")]
    row = person_row()
    del row[4]
    path = write_workbook(tmp_path / "m.xlsx", [row], headers=headers)
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id)
    assert "表头缺少必填列：“手机号码”" in raised.value.message


def test_missing_optional_column_is_fine(tmp_path, unit_id):
    headers = [h for h in HEADERS if not h.startswith("学历")]
    row = person_row()
    del row[6]
    path = write_workbook(tmp_path / "m.xlsx", [row], headers=headers)
    assert only_row(validate(path, unit_id)).status == "ok"


def test_duplicate_header_is_file_error(tmp_path, unit_id):
    path = write_workbook(tmp_path / "d.xlsx", [person_row() + ["x"]], headers=HEADERS + ["姓名"])
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id)
    assert "“姓名”列出现了两次（A 列和 K 列）" in raised.value.message


def test_title_row_above_header_and_offset_columns(tmp_path, unit_id):
    workbook = Workbook()
    sheet = workbook.active
    sheet["B1"] = "2026 年报名表"
    for index, header in enumerate(HEADERS):
        sheet.cell(row=3, column=index + 2, value=header)
    for index, value in enumerate(person_row(name="偏移")):
        sheet.cell(row=4, column=index + 2, value=value)
    workbook.save(tmp_path / "t.xlsx")
    row = only_row(validate(tmp_path / "t.xlsx", unit_id))
    assert row.row == 4
    assert row.status == "ok", row.errors
    assert row.values["姓名"] == "偏移"


def test_unknown_extra_columns_ignored(tmp_path, unit_id):
    path = write_workbook(
        tmp_path / "x.xlsx",
        [person_row() + ["备注内容", "原因"]],
        headers=HEADERS + ["备注", "错误原因"],
    )
    assert only_row(validate(path, unit_id)).status == "ok"


# --- files ---------------------------------------------------------------------------------


def test_xls_file_rejected_with_save_as_message(tmp_path, unit_id):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id)
    assert "Excel 97-2003 格式（.xls）" in raised.value.message
    assert "另存为" in raised.value.message


def test_png_renamed_xlsx_rejected(tmp_path, unit_id):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id)
    assert "文件不是 Excel 工作簿（.xlsx）" in raised.value.message


def test_zip_without_workbook_rejected(tmp_path, unit_id):
    import zipfile

    path = tmp_path / "docs.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id)
    assert "不是 Excel 工作簿" in raised.value.message


def test_empty_file_rejected(tmp_path, unit_id):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id)
    assert "上传的文件是空的" in raised.value.message


def test_too_many_rows_rejected(tmp_path, unit_id):
    rows = [
        person_row(name=f"人{i}", id_number=resident_id(date(1980, 1, 1), serial=i))
        for i in range(6)
    ]
    path = write_workbook(tmp_path / "big.xlsx", rows)
    with pytest.raises(ImportFileError) as raised:
        validate(path, unit_id, max_rows=5)
    assert "共有 6 行，超过单次导入上限 5 行" in raised.value.message
    assert len(validate(path, unit_id, max_rows=6).ok_rows) == 6


def test_blank_and_whitespace_rows_skipped(tmp_path, unit_id):
    rows = [
        person_row(name="甲"),
        [None] * 10,
        [" ", "\u3000", None, "", None, None, None, None, None, None],
        person_row(name="乙", id_number=resident_id(date(1979, 9, 9))),
        [None] * 10,
    ]
    report = validate(write_workbook(tmp_path / "b.xlsx", rows), unit_id)
    assert [(row.row, row.status) for row in report.rows] == [
        (2, "ok"),
        (3, "skip"),
        (4, "skip"),
        (5, "ok"),
    ]


# --- identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "status"),
    [
        (date(2008, 12, 4), "ok"),  # 18 today
        (date(2008, 12, 5), "implausible_age"),  # 17, turns 18 tomorrow
        (date(1926, 12, 4), "ok"),  # 100 today
        (date(1925, 12, 5), "ok"),  # 100, turns 101 tomorrow
        (date(1925, 12, 4), "implausible_age"),  # 101 today
        (date(2027, 1, 1), "implausible_age"),  # not born yet
    ],
)
def test_age_boundaries(tmp_path, unit_id, birth, status):
    path = write_workbook(tmp_path / "a.xlsx", [person_row(id_number=resident_id(birth))])
    row = only_row(validate(path, unit_id))
    if status == "ok":
        assert row.status == "ok", row.errors
    else:
        assert error_pairs(row) == [("证件号", status)]


def test_feb_29_on_non_leap_year_rejected(tmp_path, unit_id):
    first17 = "35020319900229121"  # 1990 is not a leap year
    from app.importing.identifiers import resident_id_check_character

    number = first17 + resident_id_check_character(first17)
    path = write_workbook(tmp_path / "l.xlsx", [person_row(id_number=number)])
    row = only_row(validate(path, unit_id))
    assert error_pairs(row) == [("证件号", "invalid_birth_date")]
    assert "19900229" in row.errors[0].message


def test_feb_29_on_leap_year_accepted(tmp_path, unit_id):
    path = write_workbook(
        tmp_path / "l.xlsx", [person_row(id_number=resident_id(date(1988, 2, 29)))]
    )
    assert only_row(validate(path, unit_id)).status == "ok"


def test_numeric_id_cells(tmp_path, unit_id):
    rows = [
        person_row(name="甲", id_number=350203198506151211),  # 18 digits typed as a number
        person_row(name="乙", id_number=350623911204201),  # old 15-digit number, no digit lost
    ]
    report = validate(write_workbook(tmp_path / "n.xlsx", rows), unit_id)
    assert error_pairs(report.rows[0]) == [("证件号", "numeric_precision_lost")]
    assert "文本" in report.rows[0].errors[0].message
    assert error_pairs(report.rows[1]) == [("证件号", "id_15_digit_obsolete")]
    assert "18 位" in report.rows[1].errors[0].message


def test_id_text_normalized(tmp_path, unit_id):
    number = resident_id(date(1983, 7, 9), serial=0)
    assert number.endswith("X") or True
    typed = " " + "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number) + "\u3000"
    path = write_workbook(tmp_path / "i.xlsx", [person_row(id_number=typed)])
    row = only_row(validate(path, unit_id))
    assert row.status == "ok", row.errors
    assert row.values["证件号"] == number


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("3502031985061512", "invalid_id_format"),  # 16 characters
        ("35020319850615121Y", "invalid_id_format"),
        ("00020319850615121X", "invalid_id_format"),  # no province 00
        ("350203198506151210", "checksum"),
    ],
)
def test_resident_id_faults(tmp_path, unit_id, number, kind):
    path = write_workbook(tmp_path / "r.xlsx", [person_row(id_number=number)])
    assert error_pairs(only_row(validate(path, unit_id))) == [("证件号", kind)]


def test_district_missing_from_tables_accepted(tmp_path, unit_id):
    # 350213 (Xiamen Xiang'an, created 2003) and a made-up district of a real province.
    rows = [
        person_row(name="甲", id_number=resident_id(date(1990, 3, 3), region="350213")),
        person_row(name="乙", id_number=resident_id(date(1990, 3, 3), region="469099")),
    ]
    report = validate(write_workbook(tmp_path / "d.xlsx", rows), unit_id)
    assert [row.status for row in report.rows] == ["ok", "ok"]


@pytest.mark.parametrize(
    ("id_type", "number", "gender", "status"),
    [
        ("护照", "E12345678", "女", "ok"),  # gender is not read from a passport number
        ("护照", "e1234567８", "男", "ok"),
        ("护照", "E12", "男", "invalid_id_format"),
        ("港澳居民来往内地通行证", "H12345678", "男", "ok"),
        ("港澳居民来往内地通行证", "X12345678", "男", "invalid_id_format"),
        ("台湾居民来往大陆通行证", "12345678", "女", "ok"),
        ("台湾居民来往大陆通行证", "1234", "女", "invalid_id_format"),
        ("外国人永久居留身份证", "USA350100000001", "男", "ok"),
        ("外国人永久居留身份证", "ABC", "男", "invalid_id_format"),
    ],
)
def test_other_id_types(tmp_path, unit_id, id_type, number, gender, status):
    row_values = person_row(id_type=id_type, id_number=number, gender=gender)
    row = only_row(validate(write_workbook(tmp_path / "o.xlsx", [row_values]), unit_id))
    if status == "ok":
        assert row.status == "ok", row.errors
    else:
        assert error_pairs(row) == [("证件号", status)]


def test_unknown_id_type(tmp_path, unit_id):
    row_values = person_row(id_type="军官证", id_number="A1234567")
    row = only_row(validate(write_workbook(tmp_path / "u.xlsx", [row_values]), unit_id))
    assert error_pairs(row) == [("证件类型", "unknown_option")]
    assert "身份证、护照" in row.errors[0].message


def test_gender_mismatch_and_unknown_gender(tmp_path, unit_id):
    rows = [
        person_row(name="甲", id_number=resident_id(date(1990, 1, 1), male=False), gender="男"),
        person_row(name="乙", gender="未知"),
    ]
    report = validate(write_workbook(tmp_path / "g.xlsx", rows), unit_id)
    assert error_pairs(report.rows[0]) == [("性别", "gender_mismatch")]
    assert error_pairs(report.rows[1]) == [("性别", "unknown_option")]


def test_options_tolerate_width_and_spaces(tmp_path, unit_id):
    row_values = person_row(project="场（厂）内专用机动车辆")
    row_values[5] = "\u3000本科或同等学力 "
    row = only_row(validate(write_workbook(tmp_path / "w.xlsx", [row_values]), unit_id))
    assert row.status == "ok", row.errors
    assert row.values["培训项目"] == "场(厂)内专用机动车辆"
    assert row.values["最高学历"] == "本科或同等学力"


def test_too_long_name(tmp_path, unit_id):
    row = only_row(
        validate(write_workbook(tmp_path / "n.xlsx", [person_row(name="长" * 51)]), unit_id)
    )
    assert error_pairs(row) == [("姓名", "too_long")]


def test_several_errors_in_one_row(tmp_path, unit_id):
    row_values = person_row(phone="123", project="潜水")
    row_values[9] = "可能"
    row = only_row(validate(write_workbook(tmp_path / "s.xlsx", [row_values]), unit_id))
    assert error_pairs(row) == [
        ("手机号码", "invalid_phone"),
        ("培训项目", "unknown_option"),
        ("是否持有特种设备安全管理证书", "invalid_yes_no"),
    ]


# --- duplicates and stored people ----------------------------------------------------------


def store(report, unit_id):
    request = StoreRequest(unit_id=unit_id, position="安全员", organization="协会", actor_id=None)
    batch = store_report(report, request)
    db.session.commit()
    return batch


def test_duplicate_existing_enrollment(tmp_path, unit_id):
    path = write_workbook(tmp_path / "e.xlsx", [person_row(name="林一")])
    assert store(validate(path, unit_id), unit_id).imported_count == 1

    again = write_workbook(
        tmp_path / "e2.xlsx", [person_row(name="林一"), person_row(name="林一", project="锅炉")]
    )
    report = validate(again, unit_id)
    assert error_pairs(report.rows[0]) == [("证件号", "duplicate_existing")]
    assert report.rows[1].status == "ok"


def test_withdrawn_enrollment_does_not_block(tmp_path, unit_id):
    path = write_workbook(tmp_path / "e.xlsx", [person_row(name="林一")])
    store(validate(path, unit_id), unit_id)
    enrollment = db.session.scalars(select(Enrollment)).one()
    enrollment.status = "withdrawn"
    db.session.commit()
    report = validate(path, unit_id)
    assert only_row(report).status == "ok"
    store(report, unit_id)
    assert db.session.scalar(select(db.func.count(Trainee.id))) == 1
    assert db.session.scalar(select(db.func.count(Enrollment.id))) == 2


def test_other_unit_enrollment_does_not_block(tmp_path, unit_id):
    from tests.conftest import create_unit_with_admin

    other = create_unit_with_admin("OTHER", "other_admin")
    path = write_workbook(tmp_path / "e.xlsx", [person_row(name="林一")])
    store(validate(path, other.id), other.id)
    assert only_row(validate(path, unit_id)).status == "ok"


def test_name_differs_from_stored_trainee(tmp_path, unit_id):
    path = write_workbook(tmp_path / "s.xlsx", [person_row(name="林一")])
    store(validate(path, unit_id), unit_id)
    renamed = write_workbook(tmp_path / "r.xlsx", [person_row(name="林二", project="锅炉")])
    row = only_row(validate(renamed, unit_id))
    assert error_pairs(row) == [("姓名", "name_mismatch")]
    assert "林一" in row.errors[0].message


def test_same_name_reuses_stored_trainee(tmp_path, unit_id):
    store(
        validate(write_workbook(tmp_path / "s.xlsx", [person_row(name="林一")]), unit_id), unit_id
    )
    second = validate(
        write_workbook(tmp_path / "t.xlsx", [person_row(name=" 林一 ", project="锅炉")]), unit_id
    )
    store(second, unit_id)
    assert db.session.scalar(select(db.func.count(Trainee.id))) == 1
    projects = set(db.session.scalars(select(Enrollment.training_project)))
    assert projects == {"电梯", "锅炉"}


def test_name_differs_within_file(tmp_path, unit_id):
    rows = [person_row(name="林一"), person_row(name="林壹", project="锅炉")]
    report = validate(write_workbook(tmp_path / "n.xlsx", rows), unit_id)
    assert report.rows[0].status == "ok"
    assert error_pairs(report.rows[1]) == [("姓名", "name_mismatch")]
    assert "第 2 行" in report.rows[1].errors[0].message


def test_duplicate_in_file_names_earlier_row(tmp_path, unit_id):
    rows = [
        person_row(name="林一"),
        person_row(name="王二", id_number=resident_id(date(1970, 5, 5))),
        person_row(name="林一"),
    ]
    report = validate(write_workbook(tmp_path / "d.xlsx", rows), unit_id)
    assert [row.status for row in report.rows] == ["ok", "ok", "error"]
    assert error_pairs(report.rows[2]) == [("证件号", "duplicate_in_file")]
    assert "与第 2 行重复" in report.rows[2].errors[0].message


def test_same_number_different_id_type_is_not_duplicate(tmp_path, unit_id):
    rows = [
        person_row(name="甲", id_type="护照", id_number="E12345678"),
        person_row(name="甲", id_type="港澳居民来往内地通行证", id_number="H12345678"),
        person_row(name="甲", id_type="护照", id_number="E12345678", project="锅炉"),
    ]
    report = validate(write_workbook(tmp_path / "d.xlsx", rows), unit_id)
    assert [row.status for row in report.rows] == ["ok", "ok", "ok"]
