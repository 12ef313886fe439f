"""报名申请表 PDF: content, page geometry, wrapping of long values and metadata.

Text is read back with pypdf and, where poppler-utils is installed, with pdftotext. A PNG of the
form goes to test-artifacts/ for a person to look at.
"""

import io
import re
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from app.documents.application_form import ApplicationFormData, render_application_form

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PDFTOTEXT = "/usr/bin/pdftotext"
PDFTOPPM = "/usr/bin/pdftoppm"

A4_WIDTH = 595.27
A4_HEIGHT = 841.89
# The table spans the page width less 50 pt margins on both sides (595.2756 - 50, rounded up).
TABLE_RIGHT_EDGE = 545.28

# Invented identity: the ID number is made up but has a valid GB 11643 check character.
SAMPLE = ApplicationFormData(
    organization="厦门市特种设备协会",
    enrollment_number="BM00000042",
    batch_number="20231010001",
    trainee_name="王小明",
    gender="男",
    id_type="身份证",
    id_number="35020319900307201X",
    birth_date="1990-03-07",
    phone="13912345678",
    education="大学本科",
    degree="工学学士",
    unit_name="厦门示例电梯工程有限公司",
    unit_credit_code="91350203MA31BC4D5R",
    unit_address="福建省厦门市思明区示例路100号",
    unit_contact_name="林示例",
    unit_contact_phone="0592-5551234",
    position="安全总监",
    training_type="特种设备使用单位",
    training_project="电梯",
    holds_certificate=True,
    generated_at=datetime(2024, 5, 6, 9, 30),
)

# 60 characters, long enough to need two lines in the unit name cell.
LONG_UNIT_NAME = (
    "厦门市思明区示例特种设备安装维修保养工程技术服务有限公司"
    "第一分公司电梯起重机械压力容器检验检测中心站海沧区第二服务网点站"
)
assert len(LONG_UNIT_NAME) == 60

VALUE_FIELDS = [
    "trainee_name",
    "id_number",
    "unit_name",
    "unit_credit_code",
    "training_project",
    "position",
    "phone",
    "unit_address",
    "unit_contact_name",
    "unit_contact_phone",
    "training_type",
    "organization",
    "education",
    "degree",
    "birth_date",
]


def compact(text: str) -> str:
    """Drop all whitespace, including U+3000, which extractors place between lines and runs."""
    return "".join(text.split())


def pypdf_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def pdftotext(pdf: bytes, *options: str) -> str:
    result = subprocess.run(
        [PDFTOTEXT, *options, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


needs_pdftotext = pytest.mark.skipif(
    not Path(PDFTOTEXT).exists(), reason="poppler-utils is not installed (no /usr/bin/pdftotext)"
)
needs_pdftoppm = pytest.mark.skipif(
    not Path(PDFTOPPM).exists(), reason="poppler-utils is not installed (no /usr/bin/pdftoppm)"
)


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_application_form(SAMPLE)


def test_pdf_is_one_a4_portrait_page(sample_pdf):
    assert sample_pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(sample_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_WIDTH, abs=1)
    assert float(box.height) == pytest.approx(A4_HEIGHT, abs=1)


@pytest.mark.parametrize("field", VALUE_FIELDS)
def test_pypdf_text_contains_value(sample_pdf, field):
    value = getattr(SAMPLE, field)
    assert compact(value) in compact(pypdf_text(sample_pdf)), f"{field}={value!r} not found"


def test_pypdf_text_contains_form_wording(sample_pdf):
    text = compact(pypdf_text(sample_pdf))
    for wording in [
        "特种设备安全管理人员培训报名申请表",
        "基本信息",
        "单位信息",
        "培训信息",
        "近期2寸免冠白底彩色照片（粘贴处）",
        "统一社会信用代码",
        "管理岗位",
        (
            "本人承诺以上所填信息真实无误，如因个人填报信息不实，"
            "本人愿承担由此产生的一切后果和相关责任。"
        ),
        "申请人签字：",
        "日期：",
        "用人单位意见",
        "单位负责人签字：",
        "（单位盖章）",
    ]:
        assert wording in text, wording


def test_footer_shows_numbers_and_time(sample_pdf):
    text = compact(pypdf_text(sample_pdf))
    assert "报名编号：BM00000042" in text
    assert "导入批次：20231010001" in text
    assert "生成时间：2024-05-0609:30" in text


@pytest.mark.parametrize(("holds_certificate", "expected"), [(True, "是"), (False, "否")])
def test_certificate_answer(holds_certificate, expected):
    pdf = render_application_form(replace(SAMPLE, holds_certificate=holds_certificate))
    match = re.search(r"是否持有特种设备安全管理证书(.)", compact(pypdf_text(pdf)))
    assert match is not None
    assert match.group(1) == expected


def test_blank_optional_fields_render():
    pdf = render_application_form(replace(SAMPLE, birth_date="", degree=""))
    text = compact(pypdf_text(pdf))
    assert "出生日期" in text
    assert "None" not in text
    assert "工学学士" not in text
    assert "1990-03-07" not in text


def test_markup_characters_printed_literally():
    pdf = render_application_form(replace(SAMPLE, unit_name="<b>A&B</b> 工程公司"))
    assert "<b>A&B</b>工程公司" in compact(pypdf_text(pdf))


def test_long_unit_name_wraps_inside_cell():
    pdf = render_application_form(replace(SAMPLE, unit_name=LONG_UNIT_NAME))
    text = pypdf_text(pdf)
    assert LONG_UNIT_NAME in compact(text)
    # Wrapped means no single extracted line contains the whole name.
    assert all(LONG_UNIT_NAME not in line for line in text.splitlines())
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


@needs_pdftotext
def test_long_values_stay_left_of_table_edge():
    long_address = (
        "福建省厦门市湖里区示例大道" + "8" * 30 + "号示例科技园区第三期研发楼东侧附属建筑二层"
    )
    pdf = render_application_form(
        replace(SAMPLE, unit_name=LONG_UNIT_NAME, unit_address=long_address)
    )
    words = re.findall(
        r'<word xMin="([\d.]+)"[^>]*xMax="([\d.]+)"[^>]*>([^<]*)</word>', pdftotext(pdf, "-bbox")
    )
    assert words
    # Each wrapped line of the name is one word; short words such as 电梯 match by chance.
    name_lines = [text for _, _, text in words if len(text) > 10 and text in LONG_UNIT_NAME]
    assert "".join(name_lines) == LONG_UNIT_NAME
    assert len(name_lines) == 2
    for x_min, x_max, word in words:
        assert float(x_max) <= TABLE_RIGHT_EDGE, f"{word!r} ends at {x_max} pt"
        assert float(x_min) >= 50, f"{word!r} starts at {x_min} pt"


def test_database_maximum_lengths_fit_one_page():
    # Unit.name is String(200): the longest name plus an equally long address still fit.
    unit_name = ("厦门示例电梯工程有限公司" * 17)[:200]
    address = ("福建省厦门市思明区示例路100号" * 13)[:200]
    pdf = render_application_form(replace(SAMPLE, unit_name=unit_name, unit_address=address))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = compact(pypdf_text(pdf))
    assert unit_name in text
    assert address in text


def test_values_too_long_for_page_raise():
    with pytest.raises(ValueError, match="too long to fit on one A4 page"):
        render_application_form(replace(SAMPLE, unit_name="测" * 2000, unit_address="址" * 2000))


def test_metadata_has_title_author_only(sample_pdf):
    metadata = PdfReader(io.BytesIO(sample_pdf)).metadata
    assert metadata.title == "特种设备安全管理人员培训报名申请表"
    assert metadata.author == "厦门市特种设备协会"
    assert metadata.subject == "报名编号 BM00000042"
    values = " ".join(str(value) for value in metadata.values())
    for personal in (SAMPLE.trainee_name, SAMPLE.id_number, SAMPLE.phone, SAMPLE.unit_name):
        assert personal not in values


@needs_pdftotext
@pytest.mark.parametrize("field", VALUE_FIELDS)
def test_pdftotext_contains_value(sample_pdf, field):
    value = getattr(SAMPLE, field)
    assert compact(value) in compact(pdftotext(sample_pdf)), f"{field}={value!r} not found"


@needs_pdftotext
def test_pdftotext_certificate_answer():
    pdf = render_application_form(replace(SAMPLE, holds_certificate=False))
    match = re.search(r"是否持有特种设备安全管理证书(.)", compact(pdftotext(pdf)))
    assert match is not None
    assert match.group(1) == "否"


@needs_pdftoppm
def test_render_png_for_review(sample_pdf, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path = tmp_path / "application_form.pdf"
    pdf_path.write_bytes(render_application_form(replace(SAMPLE, unit_name=LONG_UNIT_NAME)))
    prefix = ARTIFACTS / "application_form"
    subprocess.run(
        [PDFTOPPM, "-r", "100", "-png", "-singlefile", str(pdf_path), str(prefix)], check=True
    )
    with Image.open(prefix.with_suffix(".png")) as image:
        # A4 at 100 dpi is 8.27 in x 11.69 in.
        assert image.size == (827, 1170)
