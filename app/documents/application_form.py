"""Pre-filled 报名申请表 (application form) as a one-page A4 PDF.

The unit admin downloads the form for one enrollment, prints it, has the trainee sign it and the
unit seal it, and uploads a scan. This module only draws the PDF: it needs no Flask app and no
database.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

# NOTE: STSong-Light is an Adobe-GB1 CID font that PDF readers supply themselves, so the PDF
# embeds no glyphs. Readers substitute their own Song/Ming font (poppler uses fonts-noto-cjk).
FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
# ASCII runs (digits, codes, phone numbers) use a standard-14 font, the usual pairing of Song
# with Times on Chinese forms. Readers that substitute STSong-Light keep its half-width glyph
# widths but not its glyph shapes, so its digits come out unevenly spaced.
LATIN_FONT = "Times-Roman"

FORM_TITLE = "特种设备安全管理人员培训报名申请表"
PHOTO_BOX_TEXT = "近期2寸免冠白底彩色照片（粘贴处）"
COMMITMENT_TEXT = (
    "本人承诺以上所填信息真实无误，如因个人填报信息不实，本人愿承担由此产生的一切后果和相关责任。"
)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 50.0
TABLE_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
# Columns: section name, label, value, label, value, photo box. The photo column takes the rest.
COLUMN_WIDTHS = (26.0, 78.0, 112.0, 78.0, 103.0)
COLUMN_WIDTHS += (TABLE_WIDTH - sum(COLUMN_WIDTHS),)
# A 2-inch photo is 35 mm x 49 mm, so the pasting box keeps that aspect ratio.
PHOTO_BOX_HEIGHT = COLUMN_WIDTHS[5] * 49 / 35
BASIC_ROW_COUNT = 5

TITLE_SIZE = 18.0
LABEL_SIZE = 10.5
SMALL_SIZE = 8.0
# Value text shrinks step by step until the table fits on the page (long unit names, addresses).
VALUE_SIZES = (10.5, 10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0)
PADDING_X = 4.0
PADDING_Y = 4.0
ROW_MIN_HEIGHT = 28.0
COMMITMENT_ROW_MIN_HEIGHT = 92.0
OPINION_ROW_MIN_HEIGHT = 130.0

TITLE_BASELINE = PAGE_HEIGHT - 62.0
TABLE_TOP = PAGE_HEIGHT - 96.0
FOOTER_BASELINE = 34.0
TABLE_BOTTOM_LIMIT = 52.0


@dataclass(frozen=True)
class ApplicationFormData:
    """Values printed on one enrollment's application form, already formatted as text."""

    organization: str  # 所属培训机构, e.g. "厦门市特种设备协会"
    enrollment_number: str  # 报名编号, e.g. "BM00000042"
    batch_number: str  # 导入批次, e.g. "20231010001" ("0000000000" when not imported)
    trainee_name: str
    gender: str  # "男"/"女"
    id_type: str  # "身份证" etc.
    id_number: str
    birth_date: str  # "1990-01-01" or "" when unknown
    phone: str
    education: str  # 最高学历
    degree: str  # 学历 (optional, may be "")
    unit_name: str
    unit_credit_code: str  # 统一社会信用代码
    unit_address: str
    unit_contact_name: str
    unit_contact_phone: str
    position: str  # 管理岗位, e.g. "安全员" / "安全总监"
    training_type: str  # 培训类型, e.g. "特种设备使用单位"
    training_project: str  # 培训项目, e.g. "电梯"
    holds_certificate: bool  # 是否持有特种设备安全管理证书
    generated_at: datetime  # printed small in the footer ("生成时间")


def render_application_form(data: ApplicationFormData) -> bytes:
    """Draw the application form for one enrollment and return the PDF bytes.

    Raises ValueError when the values are too long to fit on one page even at the smallest
    value font size.
    """
    grid = _fit_grid(data)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(FORM_TITLE)
    canvas.setAuthor(data.organization)
    canvas.setSubject(f"报名编号 {data.enrollment_number}")
    canvas.setCreator("enrollment-platform")

    _draw_title(canvas, data)
    table = grid.table()
    table.wrapOn(canvas, TABLE_WIDTH, TABLE_TOP)
    table.drawOn(canvas, MARGIN_X, TABLE_TOP - grid.height())
    _draw_commitment(canvas, grid.row_box(grid.commitment_row))
    _draw_opinion(canvas, grid.row_box(grid.opinion_row))
    _draw_footer(canvas, data)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _label_style() -> ParagraphStyle:
    return ParagraphStyle(
        "label",
        fontName=FONT,
        fontSize=LABEL_SIZE,
        leading=LABEL_SIZE * 1.35,
        alignment=TA_CENTER,
        wordWrap="CJK",
    )


def _value_style(size: float) -> ParagraphStyle:
    return ParagraphStyle(
        "value",
        fontName=FONT,
        fontSize=size,
        leading=size * 1.35,
        alignment=TA_LEFT,
        wordWrap="CJK",
    )


def _text_runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font name, chunk) runs: ASCII in LATIN_FONT, the rest in FONT."""
    return [
        (LATIN_FONT if chunk.isascii() else FONT, chunk)
        for chunk in re.findall(r"[\x20-\x7e]+|[^\x20-\x7e]+", text)
    ]


def _markup(text: str) -> str:
    """Convert plain text to Paragraph markup, escaped so user data never acts as markup."""
    parts = []
    for font, chunk in _text_runs(text):
        if font == LATIN_FONT:
            parts.append(f'<font face="{LATIN_FONT}">{escape(chunk)}</font>')
        else:
            parts.append(escape(chunk))
    return "".join(parts)


def _string_width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(chunk, font, size) for font, chunk in _text_runs(text))


def _draw_string(
    canvas: Canvas, x: float, y: float, text: str, size: float, anchor: str = "left"
) -> None:
    """Draw one line of mixed Chinese and ASCII text with its left, centre or right at x."""
    width = _string_width(text, size)
    if anchor == "right":
        x -= width
    elif anchor == "center":
        x -= width / 2
    for font, chunk in _text_runs(text):
        canvas.setFont(font, size)
        canvas.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, font, size)


def _label(text: str) -> Paragraph:
    return Paragraph(_markup(text), _label_style())


def _value(text: str, size: float) -> Paragraph:
    return Paragraph(_markup(text.strip()), _value_style(size))


def _vertical_label(text: str) -> Paragraph:
    """Write a section name top to bottom, one character a line, as on printed forms."""
    return Paragraph("<br/>".join(_markup(char) for char in text), _label_style())


@dataclass
class _Grid:
    """Table cells with their spans and row heights, built before anything is drawn."""

    cells: list[list[Flowable | str]]
    spans: list[tuple[int, int, int, int]]  # first column, first row, last column, last row
    row_heights: list[float]
    commitment_row: int
    opinion_row: int

    def height(self) -> float:
        return sum(self.row_heights)

    def row_box(self, row: int) -> tuple[float, float, float, float]:
        """Return left, bottom, right, top in page coordinates of a row right of its section."""
        top = TABLE_TOP - sum(self.row_heights[:row])
        bottom = top - self.row_heights[row]
        return MARGIN_X + COLUMN_WIDTHS[0], bottom, MARGIN_X + TABLE_WIDTH, top

    def table(self) -> Table:
        style = [
            ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
            ("INNERGRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), PADDING_X),
            ("RIGHTPADDING", (0, 0), (-1, -1), PADDING_X),
            ("TOPPADDING", (0, 0), (-1, -1), PADDING_Y),
            ("BOTTOMPADDING", (0, 0), (-1, -1), PADDING_Y),
        ]
        style += [("SPAN", (c0, r0), (c1, r1)) for c0, r0, c1, r1 in self.spans]
        return Table(
            self.cells,
            colWidths=list(COLUMN_WIDTHS),
            rowHeights=list(self.row_heights),
            style=TableStyle(style),
        )


class _GridBuilder:
    """Builder of a _Grid from rows of (first column, column span, flowable) cells."""

    def __init__(self) -> None:
        self.cells: list[list[Flowable | str]] = []
        self.spans: list[tuple[int, int, int, int]] = []
        self.row_heights: list[float] = []

    def add_row(self, row_cells: list[tuple[int, int, Flowable]], min_height: float) -> int:
        row = len(self.cells)
        line: list[Flowable | str] = [""] * len(COLUMN_WIDTHS)
        height = min_height
        for first_column, column_span, flowable in row_cells:
            line[first_column] = flowable
            if column_span > 1:
                self.spans.append((first_column, row, first_column + column_span - 1, row))
            width = sum(COLUMN_WIDTHS[first_column : first_column + column_span])
            _, content_height = flowable.wrap(width - 2 * PADDING_X, PAGE_HEIGHT)
            height = max(height, content_height + 2 * PADDING_Y)
        self.cells.append(line)
        self.row_heights.append(height)
        return row

    def span_down(self, column: int, first_row: int, last_row: int, flowable: Flowable) -> None:
        """Merge one column over several rows and put the flowable in the merged cell."""
        self.cells[first_row][column] = flowable
        self.spans.append((column, first_row, column, last_row))
        width = COLUMN_WIDTHS[column] - 2 * PADDING_X
        _, content_height = flowable.wrap(width, PAGE_HEIGHT)
        # The merged cell must hold its content, so the last row grows when it is too short.
        missing = content_height + 2 * PADDING_Y - sum(self.row_heights[first_row : last_row + 1])
        if missing > 0:
            self.row_heights[last_row] += missing


def _fit_grid(data: ApplicationFormData) -> _Grid:
    """Build the grid with the largest value font size that keeps the table on one page."""
    available = TABLE_TOP - TABLE_BOTTOM_LIMIT
    for size in VALUE_SIZES:
        grid = _build_grid(data, size)
        spare = available - grid.height()
        if spare >= 0:
            # The opinion row takes the rest of the page, so the table always ends at one place.
            grid.row_heights[grid.opinion_row] += spare
            return grid
    raise ValueError(
        "application form values are too long to fit on one A4 page "
        f"(unit name {len(data.unit_name)} characters, address {len(data.unit_address)})"
    )


def _build_grid(data: ApplicationFormData, size: float) -> _Grid:
    builder = _GridBuilder()

    # 基本信息: five rows next to the photo box, which is about 35 mm x 49 mm.
    basic_height = PHOTO_BOX_HEIGHT / BASIC_ROW_COUNT
    first = builder.add_row(
        [
            (1, 1, _label("姓名")),
            (2, 1, _value(data.trainee_name, size)),
            (3, 1, _label("性别")),
            (4, 1, _value(data.gender, size)),
        ],
        basic_height,
    )
    builder.add_row(
        [
            (1, 1, _label("证件类型")),
            (2, 1, _value(data.id_type, size)),
            (3, 1, _label("出生日期")),
            (4, 1, _value(data.birth_date, size)),
        ],
        basic_height,
    )
    builder.add_row(
        [(1, 1, _label("证件号码")), (2, 3, _value(data.id_number, size))],
        basic_height,
    )
    builder.add_row(
        [
            (1, 1, _label("最高学历")),
            (2, 1, _value(data.education, size)),
            (3, 1, _label("学历")),
            (4, 1, _value(data.degree, size)),
        ],
        basic_height,
    )
    last = builder.add_row(
        [(1, 1, _label("联系电话")), (2, 3, _value(data.phone, size))],
        basic_height,
    )
    builder.span_down(0, first, last, _vertical_label("基本信息"))
    builder.span_down(5, first, last, _photo_box_text())

    # 单位信息
    first = builder.add_row(
        [(1, 1, _label("单位名称")), (2, 4, _value(data.unit_name, size))],
        ROW_MIN_HEIGHT,
    )
    builder.add_row(
        [
            (1, 1, Paragraph("统一社会<br/>信用代码", _label_style())),
            (2, 4, _value(data.unit_credit_code, size)),
        ],
        ROW_MIN_HEIGHT,
    )
    builder.add_row(
        [(1, 1, _label("单位地址")), (2, 4, _value(data.unit_address, size))],
        ROW_MIN_HEIGHT,
    )
    last = builder.add_row(
        [
            (1, 1, _label("单位联系人")),
            (2, 1, _value(data.unit_contact_name, size)),
            (3, 1, _label("联系电话")),
            (4, 2, _value(data.unit_contact_phone, size)),
        ],
        ROW_MIN_HEIGHT,
    )
    builder.span_down(0, first, last, _vertical_label("单位信息"))

    # 培训信息
    first = builder.add_row(
        [(1, 1, _label("培训机构")), (2, 4, _value(data.organization, size))],
        ROW_MIN_HEIGHT,
    )
    builder.add_row(
        [
            (1, 1, _label("培训类型")),
            (2, 1, _value(data.training_type, size)),
            (3, 1, _label("培训项目")),
            (4, 2, _value(data.training_project, size)),
        ],
        ROW_MIN_HEIGHT,
    )
    last = builder.add_row(
        [
            (1, 1, _label("管理岗位")),
            (2, 1, _value(data.position, size)),
            (3, 2, _label("是否持有特种设备安全管理证书")),
            (5, 1, Paragraph("是" if data.holds_certificate else "否", _label_style())),
        ],
        ROW_MIN_HEIGHT,
    )
    builder.span_down(0, first, last, _vertical_label("培训信息"))

    # The commitment and opinion cells stay empty in the table: _draw_commitment and
    # _draw_opinion place their text and signature lines after the table is drawn.
    commitment_row = builder.add_row([], COMMITMENT_ROW_MIN_HEIGHT)
    builder.spans.append((1, commitment_row, 5, commitment_row))
    builder.span_down(0, commitment_row, commitment_row, _vertical_label("申请人承诺"))

    opinion_row = builder.add_row([], OPINION_ROW_MIN_HEIGHT)
    builder.spans.append((1, opinion_row, 5, opinion_row))
    builder.span_down(0, opinion_row, opinion_row, _vertical_label("用人单位意见"))

    return _Grid(
        cells=builder.cells,
        spans=builder.spans,
        row_heights=builder.row_heights,
        commitment_row=commitment_row,
        opinion_row=opinion_row,
    )


def _photo_box_text() -> Paragraph:
    style = ParagraphStyle(
        "photo",
        fontName=FONT,
        fontSize=9,
        leading=14,
        alignment=TA_CENTER,
        textColor=colors.HexColor("#555555"),
        wordWrap="CJK",
    )
    lines = ("近期2寸免冠", "白底彩色照片", "（粘贴处）")
    return Paragraph("<br/>".join(_markup(line) for line in lines), style)


def _draw_title(canvas: Canvas, data: ApplicationFormData) -> None:
    # STSong-Light has no bold face, so the title is filled and stroked to look bold.
    canvas.saveState()
    canvas.setLineWidth(0.5)
    text = canvas.beginText()
    text.setTextRenderMode(2)
    text.setFont(FONT, TITLE_SIZE)
    text.setCharSpace(1.5)
    width = pdfmetrics.stringWidth(FORM_TITLE, FONT, TITLE_SIZE) + 1.5 * len(FORM_TITLE)
    text.setTextOrigin((PAGE_WIDTH - width) / 2, TITLE_BASELINE)
    text.textOut(FORM_TITLE)
    canvas.drawText(text)
    canvas.restoreState()

    _draw_string(
        canvas,
        MARGIN_X + TABLE_WIDTH,
        TABLE_TOP + 8,
        f"报名编号：{data.enrollment_number}",
        9.5,
        anchor="right",
    )


def _draw_commitment(canvas: Canvas, box: tuple[float, float, float, float]) -> None:
    left, bottom, right, top = box
    style = ParagraphStyle(
        "commitment",
        fontName=FONT,
        fontSize=LABEL_SIZE,
        leading=LABEL_SIZE * 1.6,
        firstLineIndent=2 * LABEL_SIZE,
        wordWrap="CJK",
    )
    paragraph = Paragraph(_markup(COMMITMENT_TEXT), style)
    inner_left = left + 3 * PADDING_X
    _, height = paragraph.wrap(right - left - 6 * PADDING_X, top - bottom)
    paragraph.drawOn(canvas, inner_left, top - 3 * PADDING_Y - height)

    baseline = bottom + 16
    date_text = "日期：　　　　年　　月　　日"
    date_right = right - 20
    _draw_string(canvas, date_right, baseline, date_text, LABEL_SIZE, anchor="right")
    line_right = date_right - _string_width(date_text, LABEL_SIZE) - 28
    line_left = line_right - 110
    _draw_string(canvas, line_left, baseline, "申请人签字：", LABEL_SIZE, anchor="right")
    canvas.setLineWidth(0.6)
    canvas.line(line_left, baseline - 3, line_right, baseline - 3)


def _draw_opinion(canvas: Canvas, box: tuple[float, float, float, float]) -> None:
    left, bottom, right, _ = box
    signature_baseline = bottom + 84
    label = "单位负责人签字："
    label_left = left + 24
    _draw_string(canvas, label_left, signature_baseline, label, LABEL_SIZE)
    line_left = label_left + _string_width(label, LABEL_SIZE)
    canvas.setLineWidth(0.6)
    canvas.line(line_left, signature_baseline - 3, line_left + 110, signature_baseline - 3)

    seal_center = right - 96
    _draw_string(canvas, seal_center, signature_baseline, "（单位盖章）", LABEL_SIZE, "center")
    _draw_string(canvas, seal_center, bottom + 46, "年　　月　　日", LABEL_SIZE, "center")


def _draw_footer(canvas: Canvas, data: ApplicationFormData) -> None:
    canvas.setFillColor(colors.HexColor("#444444"))
    numbers = f"报名编号：{data.enrollment_number}　　导入批次：{data.batch_number}"
    _draw_string(canvas, MARGIN_X, FOOTER_BASELINE, numbers, SMALL_SIZE)
    generated = f"生成时间：{data.generated_at:%Y-%m-%d %H:%M}"
    _draw_string(canvas, MARGIN_X + TABLE_WIDTH, FOOTER_BASELINE, generated, SMALL_SIZE, "right")
