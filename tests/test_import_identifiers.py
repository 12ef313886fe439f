"""Header matching and the identifier checks on their own, without workbooks."""

from datetime import date

import pytest

from app.importing.columns import HeaderError, label_for_header, match_header
from app.importing.identifiers import (
    FieldError,
    check_resident_id,
    gender_from_resident_id,
    id_number_from_number,
    normalize_mobile,
    resident_id_check_character,
)

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("姓名 (必填)", "姓名"),
        ("姓名（必填）", "姓名"),
        ("\u3000姓 名\u3000", "姓名"),
        ("*证件号", "证件号"),
        ("证件号码", "证件号"),
        ("学历 (选 填)", "学历"),
        ("学历（选填）", "学历"),
        ("是否持有特种设备安全 管理证书 (必填)", "是否持有特种设备安全管理证书"),
        ("手机号码：", "手机号码"),
        ("错误原因", None),
        (None, None),
        (12, None),
    ],
)
def test_header_labels(header, label):
    assert label_for_header(header) == label


def test_match_header_positions():
    positions = match_header(
        [
            "是否持有特种设备安全管理证书",
            "培训项目",
            "培训类型",
            "最高学历",
            "手机号码",
            "性别",
            "证件号",
            "证件类型",
            "姓名",
            "备注",
        ]
    )
    assert positions == {
        "是否持有特种设备安全管理证书": 0,
        "培训项目": 1,
        "培训类型": 2,
        "最高学历": 3,
        "手机号码": 4,
        "性别": 5,
        "证件号": 6,
        "证件类型": 7,
        "姓名": 8,
    }


def test_match_header_lists_every_missing_column():
    with pytest.raises(HeaderError) as raised:
        match_header(["姓名", "证件号"])
    assert str(raised.value).startswith(
        "表头缺少必填列：“证件类型”、“性别”、“手机号码”、“最高学历”、“培训类型”、“培训项目”、"
        "“是否持有特种设备安全管理证书”。"
    )


def test_check_character_examples():
    assert resident_id_check_character("35021119830709001") == "X"
    assert resident_id_check_character("35020319880512224") == "8"


def test_resident_id_valid_and_gender():
    assert check_resident_id("35021119830709001X", TODAY) == "35021119830709001X"
    assert gender_from_resident_id("35021119830709001X") == "男"
    assert gender_from_resident_id("350203198805122248") == "女"


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("350623199112042", "id_15_digit_obsolete"),
        ("35021119830709001", "invalid_id_format"),
        ("35021119830709001Y", "invalid_id_format"),
        ("990211198307090010", "invalid_id_format"),
        ("350211198302300011", "invalid_birth_date"),
        ("350211198307090011", "checksum"),
        ("350203209901014197", "implausible_age"),
    ],
)
def test_resident_id_faults(number, kind):
    if kind == "implausible_age":
        first17 = number[:17]
        number = first17 + resident_id_check_character(first17)
    with pytest.raises(FieldError) as raised:
        check_resident_id(number, TODAY)
    assert raised.value.kind == kind


@pytest.mark.parametrize(
    ("value", "text"),
    [(350623911204201.0, "350623911204201"), (12345678.0, "12345678")],
)
def test_numeric_id_without_lost_digits(value, text):
    assert id_number_from_number(value) == text


@pytest.mark.parametrize("value", [3.502061988121212e17, 1234.5, -5.0])
def test_numeric_id_with_lost_digits(value):
    with pytest.raises(FieldError) as raised:
        id_number_from_number(value)
    assert raised.value.kind == "numeric_precision_lost"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (13712340005, "13712340005"),
        (13712340005.0, "13712340005"),
        ("+86 137-1234-0005", "13712340005"),
        ("0086 13712340005", "13712340005"),
        ("（137）12340005", "13712340005"),
    ],
)
def test_mobile_normalized(value, expected):
    assert normalize_mobile(value) == expected


@pytest.mark.parametrize("value", ["8613712340", "+85291234567", "10012345678", "1371234000.5"])
def test_mobile_rejected(value):
    with pytest.raises(FieldError) as raised:
        normalize_mobile(value)
    assert raised.value.kind == "invalid_phone"
