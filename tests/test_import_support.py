"""Helpers for the import tests: workbooks written with openpyxl, valid IDs, answer keys.

This module holds no tests; the other ``test_import_*`` modules import from it.
"""

import json
import re
import zipfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from app.importing.identifiers import resident_id_check_character
from tests.conftest import IMPORT_FIXTURES

HEADERS = [
    "姓名 (必填)",
    "证件类型 (必填)",
    "证件号 (必填)",
    "性别 (必填)",
    "手机号码 (必填)",
    "最高学历 (必填)",
    "学历 (选 填)",
    "培训类型 (必填)",
    "培训项目 (必填)",
    "是否持有特种设备安全 管理证书 (必填)",
]
FIXTURE_NAMES = ("clean", "messy", "manual-example")


def resident_id(birth: date, male: bool = True, region: str = "350203", serial: int = 12) -> str:
    """Return a made-up resident ID with a correct check character."""
    gender_digit = 1 if male else 2  # the 17th digit: odd for men, even for women
    first17 = f"{region}{birth:%Y%m%d}{serial:02d}{gender_digit}"
    return first17 + resident_id_check_character(first17)


def person_row(
    name: str = "林测试",
    id_number: object | None = None,
    gender: str = "男",
    phone: object = "13805920001",
    project: str = "电梯",
    id_type: str = "身份证",
) -> list:
    """Return one valid data row in template order (a man born 1985-06-15 by default)."""
    if id_number is None:
        id_number = resident_id(date(1985, 6, 15), male=gender == "男")
    return [
        name,
        id_type,
        id_number,
        gender,
        phone,
        "本科或同等学力",
        None,
        "特种设备使用单位",
        project,
        "否",
    ]


def write_workbook(path: Path, rows: list[list], headers: list | None = None) -> Path:
    """Write a one-sheet workbook with a header row and data rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "报名信息"
    sheet.append(HEADERS if headers is None else headers)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def add_cached_value(path: Path, cell: str, cached: str, text: bool = True) -> None:
    """Give a formula cell written by openpyxl a cached result, as Excel does on save."""
    with zipfile.ZipFile(path) as archive:
        contents = {item: archive.read(item.filename) for item in archive.infolist()}
    for item, data in contents.items():
        if item.filename != "xl/worksheets/sheet1.xml":
            continue
        xml = data.decode()
        pattern = re.compile(rf'<c r="{cell}"([^>]*)>(<f>.*?</f>)<v\s*/?>(?:</v>)?')
        type_attribute = ' t="str"' if text else ""
        xml, count = pattern.subn(rf'<c r="{cell}"{type_attribute}>\2<v>{cached}</v>', xml)
        assert count == 1, f"formula cell {cell} not found"
        contents[item] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for item, data in contents.items():
            archive.writestr(item, data)


def answer_key(name: str) -> dict:
    return json.loads((IMPORT_FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))


def fixture_path(name: str) -> Path:
    return IMPORT_FIXTURES / f"{name}.xlsx"


def assert_row_matches_key(row: dict, expected: dict) -> None:
    """Compare one result row ({"row", "status", "errors"}) with an answer-key entry."""
    number = expected["row"]
    assert row["status"] == expected["expect"], f"row {number}: {row}"
    if expected["expect"] != "error":
        assert row["errors"] == [], f"row {number}: {row['errors']}"
        return
    accepted = expected.get("columns_accepted", [expected["column"]])
    matching = [
        error
        for error in row["errors"]
        if error["kind"] == expected["kind"] and ("*" in accepted or error["column"] in accepted)
    ]
    assert matching, f"row {number}: expected {expected}, got {row['errors']}"
