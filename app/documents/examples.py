"""Draw the example images shown under 模板预览 into app/static/examples/.

Run `python -m app.documents.examples` after changing the form layout to regenerate them. The PNGs
are committed, so the web app never needs the tools used here: Pillow, the Noto Sans CJK fonts
(Debian package fonts-noto-cjk) and pdftoppm/pdftotext (poppler-utils).
"""

from __future__ import annotations

import functools
import html
import math
import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from app.documents.application_form import ApplicationFormData, render_application_form

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
REGULAR_FONT = FONT_DIR / "NotoSansCJK-Regular.ttc"
BOLD_FONT = FONT_DIR / "NotoSansCJK-Bold.ttc"
SIMPLIFIED_CHINESE_FAMILY = "Noto Sans CJK SC"
OUTPUT_DIR = Path(__file__).resolve().parent.parent / "static" / "examples"

PDFTOPPM = "pdftoppm"
PDFTOTEXT = "pdftotext"
RENDER_DPI = 200
FORM_WIDTH_PX = 800

SEAL_RED = (214, 28, 28)
INK_BLUE = (22, 42, 120)
WATERMARK_TEXT = "示例"

# Invented sample data: the ID number is made up but has a valid check character.
SAMPLE_NAME = "张三"
SAMPLE_ID_NUMBER = "35020319900307201X"
SAMPLE_ADDRESS = "福建省厦门市思明区示例路100号"
SAMPLE_UNIT = "厦门示例电梯工程有限公司"
SAMPLE_FORM = ApplicationFormData(
    organization="厦门市特种设备协会",
    enrollment_number="BM00000001",
    batch_number="20240506001",
    trainee_name=SAMPLE_NAME,
    gender="男",
    id_type="身份证",
    id_number=SAMPLE_ID_NUMBER,
    birth_date="1990-03-07",
    phone="13800000000",
    education="大学本科",
    degree="工学学士",
    unit_name=SAMPLE_UNIT,
    unit_credit_code="91350203MA31BC4D5R",
    unit_address="福建省厦门市思明区示例路100号示例大厦8楼",
    unit_contact_name="李四",
    unit_contact_phone="0592-5550000",
    position="安全员",
    training_type="特种设备使用单位",
    training_project="电梯",
    holds_certificate=False,
    generated_at=datetime(2024, 5, 6, 9, 30),
)


def main() -> None:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    drawings = {
        "application_form.png": draw_application_form,
        "photo.png": draw_photo,
        "id_card_front.png": draw_id_card_front,
        "id_card_back.png": draw_id_card_back,
    }
    for file_name, draw in drawings.items():
        path = OUTPUT_DIR / file_name
        draw().save(path, optimize=True)
        print(f"{path}: {path.stat().st_size // 1024} KB")


# --- fonts and shared drawing helpers ---------------------------------------------------------


@functools.cache
def _collection_index(path: Path) -> int:
    """Find the index of the Simplified Chinese face in a Noto CJK font collection (often 2)."""
    for index in range(16):
        try:
            face = ImageFont.truetype(str(path), 12, index=index)
        except OSError:
            break
        if face.getname()[0] == SIMPLIFIED_CHINESE_FAMILY:
            return index
    raise SystemExit(f"{SIMPLIFIED_CHINESE_FAMILY} not found in {path}: install fonts-noto-cjk")


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = BOLD_FONT if bold else REGULAR_FONT
    return ImageFont.truetype(str(path), size, index=_collection_index(path))


def _text_image(text: str, font: ImageFont.FreeTypeFont, fill: tuple[int, ...]) -> Image.Image:
    """Render text onto a transparent image cropped to its ink, for rotating and pasting."""
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGBA", (right - left + 4, bottom - top + 4), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((2 - left, 2 - top), text, font=font, fill=fill)
    return image


def _paste_centered(base: Image.Image, overlay: Image.Image, center: tuple[float, float]) -> None:
    x = round(center[0] - overlay.width / 2)
    y = round(center[1] - overlay.height / 2)
    base.alpha_composite(overlay, (x, y))


def _watermark(image: Image.Image, size: int, angle: float = 30, alpha: int = 70) -> None:
    """Stamp a large translucent red 示例 across the middle of the image."""
    mark = _text_image(WATERMARK_TEXT, _font(size, bold=True), (*SEAL_RED, alpha))
    mark = mark.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    _paste_centered(image, mark, (image.width / 2, image.height / 2))


def _handwriting(text: str, size: int, angle: float = 4) -> Image.Image:
    """Render blue text, slanted and tilted a little, to stand in for pen writing."""
    plain = _text_image(text, _font(size), (*INK_BLUE, 235))
    shear = 0.25
    slanted = plain.transform(
        (plain.width + round(plain.height * shear), plain.height),
        Image.Transform.AFFINE,
        (1, shear, -plain.height * shear, 0, 1, 0),
        resample=Image.Resampling.BICUBIC,
    )
    return slanted.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)


def _star_points(center: tuple[float, float], outer: float) -> list[tuple[float, float]]:
    inner = outer * 0.382
    points = []
    for corner in range(10):
        radius = outer if corner % 2 == 0 else inner
        angle = -math.pi / 2 + corner * math.pi / 5
        points.append((center[0] + radius * math.cos(angle), center[1] + radius * math.sin(angle)))
    return points


def _seal(diameter: int, unit_name: str) -> Image.Image:
    """Draw a round red unit seal: ring, star in the middle and the unit name along the arc."""
    image = Image.new("RGBA", (diameter, diameter), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    color = (*SEAL_RED, 215)
    ring = max(3, diameter // 38)
    draw.ellipse((ring, ring, diameter - ring, diameter - ring), outline=color, width=ring)
    center = (diameter / 2, diameter / 2)
    draw.polygon(_star_points(center, diameter * 0.16), fill=color)

    char_font = _font(round(diameter * 0.12), bold=True)
    radius = diameter / 2 - ring * 2 - diameter * 0.085
    spread = math.radians(230)
    for position, char in enumerate(unit_name):
        angle = -spread / 2 + spread * position / (len(unit_name) - 1)
        glyph = _text_image(char, char_font, color)
        glyph = glyph.rotate(-math.degrees(angle), expand=True, resample=Image.Resampling.BICUBIC)
        x = center[0] + radius * math.sin(angle)
        y = center[1] - radius * math.cos(angle)
        _paste_centered(image, glyph, (x, y))

    return image


def _rounded_card(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]):
    """Draw an ID-card blank: a vertical colour gradient inside rounded corners."""
    width, height = size
    card = Image.new("RGBA", size, (0, 0, 0, 0))
    gradient = Image.new("RGBA", size)
    draw = ImageDraw.Draw(gradient)
    for y in range(height):
        share = y / (height - 1)
        color = tuple(round(top[i] + (bottom[i] - top[i]) * share) for i in range(3))
        draw.line([(0, y), (width, y)], fill=(*color, 255))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, width - 1, height - 1), radius=34, fill=255)
    card.paste(gradient, (0, 0), mask)
    ImageDraw.Draw(card).rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=34, outline=(150, 160, 170, 255), width=2
    )
    return card


def _silhouette(size: tuple[int, int], background: tuple[int, int, int]) -> Image.Image:
    """Draw head and shoulders as an ID photo frames them, with both ears clear of the hair."""
    width, height = size
    image = Image.new("RGBA", size, (*background, 255))
    draw = ImageDraw.Draw(image)
    middle = width / 2
    clothes = (84, 100, 126)
    skin = (170, 180, 194)
    hair = (58, 66, 80)

    head_width = width * 0.42
    head_top = height * 0.14
    head_bottom = height * 0.6
    draw.ellipse(
        (middle - width * 0.5, height * 0.67, middle + width * 0.5, height * 1.45), fill=clothes
    )
    draw.rectangle(
        (middle - width * 0.1, height * 0.5, middle + width * 0.1, height * 0.7), fill=skin
    )
    ear_top = height * 0.33
    for side in (-1, 1):
        ear_x = middle + side * head_width * 0.5
        draw.ellipse(
            (ear_x - width * 0.045, ear_top, ear_x + width * 0.045, ear_top + height * 0.11),
            fill=skin,
        )
    draw.ellipse(
        (
            middle - head_width / 2 - width * 0.015,
            head_top - height * 0.02,
            middle + head_width / 2 + width * 0.015,
            head_top + height * 0.3,
        ),
        fill=hair,
    )
    draw.ellipse(
        (middle - head_width / 2, head_top + height * 0.06, middle + head_width / 2, head_bottom),
        fill=skin,
    )
    return image


# --- application form ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """A word from `pdftotext -bbox`, in points from the page's top-left corner."""

    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x_min + self.x_max) / 2, (self.y_min + self.y_max) / 2


def _pdf_words(pdf_path: Path) -> list[_Word]:
    output = subprocess.run(
        [PDFTOTEXT, "-bbox", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    pattern = (
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        _Word(html.unescape(text), float(x_min), float(y_min), float(x_max), float(y_max))
        for x_min, y_min, x_max, y_max, text in re.findall(pattern, output)
    ]


def _find_word(words: list[_Word], text: str, below: float = 0) -> _Word:
    for word in words:
        if word.text == text and word.y_min > below:
            return word
    raise SystemExit(f"{text!r} not found in the rendered form: was the layout changed?")


def draw_application_form() -> Image.Image:
    """Render the sample form and draw it signed, dated and sealed, with a 示例 watermark."""
    with tempfile.TemporaryDirectory() as folder:
        pdf_path = Path(folder) / "form.pdf"
        pdf_path.write_bytes(render_application_form(SAMPLE_FORM))
        prefix = Path(folder) / "form"
        subprocess.run(
            [PDFTOPPM, "-r", str(RENDER_DPI), "-png", "-singlefile", str(pdf_path), str(prefix)],
            check=True,
        )
        page = Image.open(prefix.with_suffix(".png")).convert("RGBA")
        words = _pdf_words(pdf_path)

    scale = RENDER_DPI / 72

    def pixel(point: tuple[float, float]) -> tuple[float, float]:
        return point[0] * scale, point[1] * scale

    # Trainee signature and date in the commitment row.
    applicant = _find_word(words, "申请人签字：")
    name = _handwriting(SAMPLE_NAME, round(17 * scale))
    _paste_centered(page, name, pixel((applicant.x_max + 50, applicant.center[1] - 2)))
    _fill_date(page, words, below=applicant.y_min - 5, scale=scale, day="6")

    # Unit opinion, head's signature, date and seal.
    head = _find_word(words, "单位负责人签字：")
    opinion = _handwriting("情况属实，同意推荐参加培训。", round(15 * scale), angle=2)
    page.alpha_composite(
        opinion, (round((head.x_min + 10) * scale), round((head.y_min - 150) * scale))
    )
    signature = _handwriting("李四", round(17 * scale))
    _paste_centered(page, signature, pixel((head.x_max + 50, head.center[1] - 2)))
    seal_label = _find_word(words, "（单位盖章）")
    _fill_date(page, words, below=seal_label.y_max, scale=scale, day="8")
    # 112 pt is about 40 mm across.
    seal = _seal(round(112 * scale), SAMPLE_UNIT)
    seal_center = (seal_label.center[0] - 4, seal_label.center[1] + 8)
    _paste_centered(page, seal.rotate(-8, resample=Image.Resampling.BICUBIC), pixel(seal_center))

    _watermark(page, size=round(page.width * 0.28))
    height = round(page.height * FORM_WIDTH_PX / page.width)
    small = page.convert("RGB").resize((FORM_WIDTH_PX, height), Image.Resampling.LANCZOS)
    return small.quantize(colors=128, method=Image.Quantize.MEDIANCUT)


def _fill_date(page: Image.Image, words: list[_Word], below: float, scale: float, day: str):
    """Write 2024 / 5 / day by hand into the blanks before the first 年 月 日 below a y."""
    year = _find_word(words, "年", below=below)
    month = _find_word(words, "月", below=below)
    day_word = _find_word(words, "日", below=below)
    # The year goes into the 48 pt left of 年, where the commitment row has four U+3000 spaces.
    previous_right = {
        "年": year.x_min - 48,
        "月": year.x_max,
        "日": month.x_max,
    }
    for label, value in ((year, "2024"), (month, "5"), (day_word, day)):
        blank_center = ((previous_right[label.text] + label.x_min) / 2, label.center[1] - 1)
        digits = _handwriting(value, round(13 * scale))
        _paste_centered(page, digits, (blank_center[0] * scale, blank_center[1] * scale))


# --- photo and ID card --------------------------------------------------------------------


def draw_photo() -> Image.Image:
    """Draw a 2-inch photo at 300 dpi (413 x 579 px) with the requirements in a strip below."""
    photo_width, photo_height = 413, 579
    caption_height = 190
    image = Image.new("RGBA", (photo_width, photo_height + caption_height), (255, 255, 255, 255))
    image.paste(_silhouette((photo_width, photo_height), (255, 255, 255)), (0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, photo_width - 1, photo_height - 1), outline=(190, 196, 204), width=2)
    mark = _text_image(WATERMARK_TEXT, _font(44, bold=True), (*SEAL_RED, 150))
    image.alpha_composite(mark, (14, 12))

    top = photo_height
    draw.rectangle((0, top, photo_width, image.height), fill=(242, 245, 249))
    draw.text((20, top + 14), "2寸证件照要求", font=_font(28, bold=True), fill=(30, 41, 59))
    rules = ("白色背景", "正面免冠", "露出双耳", "35mm×49mm")
    item_font = _font(24)
    for position, rule in enumerate(rules):
        x = 20 + (position % 2) * 180
        y = top + 70 + (position // 2) * 52
        _check_mark(draw, x, y + 6)
        draw.text((x + 34, y), rule, font=item_font, fill=(30, 41, 59))
    return image


def _check_mark(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    draw.line([(x, y + 12), (x + 9, y + 21), (x + 24, y + 2)], fill=(22, 128, 61), width=4)


CARD_SIZE = (856, 540)  # 85.6 mm x 54 mm at 10 px/mm
CARD_LABEL = (40, 90, 150)
CARD_TEXT = (20, 20, 20)


def draw_id_card_front() -> Image.Image:
    """Draw the front of a resident ID card with sample values and a 示例 watermark."""
    card = _rounded_card(CARD_SIZE, (236, 244, 248), (246, 238, 228))
    draw = ImageDraw.Draw(card)
    label_font = _font(26)
    value_font = _font(30)

    def field(label: str, value: str, x: int, y: int, value_x: int | None = None) -> None:
        draw.text((x, y + 3), label, font=label_font, fill=CARD_LABEL)
        draw.text((value_x or x + 80, y), value, font=value_font, fill=CARD_TEXT)

    field("姓名", SAMPLE_NAME, 50, 50)
    field("性别", "男", 50, 112)
    field("民族", "汉", 230, 112, value_x=310)
    field("出生", "1990 年 3 月 7 日", 50, 174)
    draw.text((50, 239), "住址", font=label_font, fill=CARD_LABEL)
    draw.text((130, 236), SAMPLE_ADDRESS[:9], font=value_font, fill=CARD_TEXT)
    draw.text((130, 282), SAMPLE_ADDRESS[9:], font=value_font, fill=CARD_TEXT)
    draw.text((50, 444), "公民身份号码", font=label_font, fill=CARD_LABEL)
    draw.text((250, 436), SAMPLE_ID_NUMBER, font=_font(36), fill=CARD_TEXT)

    photo_left, photo_top = 586, 56
    photo = _silhouette((216, 270), (250, 251, 252))
    card.paste(photo, (photo_left, photo_top))
    draw.rectangle(
        (photo_left, photo_top, photo_left + photo.width - 1, photo_top + photo.height - 1),
        outline=(200, 206, 214),
        width=2,
    )
    _watermark(card, size=190, angle=20, alpha=80)
    return card


def draw_id_card_back() -> Image.Image:
    """Draw the back of a resident ID card: title, issuing authority, validity and watermark.

    The national emblem is left out on purpose: a plain circle marks its place.
    """
    card = _rounded_card(CARD_SIZE, (240, 246, 250), (236, 232, 244))
    draw = ImageDraw.Draw(card)
    draw.ellipse((60, 44, 200, 184), outline=(200, 70, 70), width=4)

    title_font = _font(40, bold=True)
    draw.text((250, 64), "中华人民共和国", font=title_font, fill=CARD_TEXT)
    name_font = _font(58, bold=True)
    x = 250
    for char in "居民身份证":
        draw.text((x, 130), char, font=name_font, fill=CARD_TEXT)
        x += 96

    label_font = _font(26)
    value_font = _font(30)
    draw.text((170, 360), "签发机关", font=label_font, fill=CARD_LABEL)
    draw.text((300, 357), "厦门市公安局示例分局", font=value_font, fill=CARD_TEXT)
    draw.text((170, 430), "有效期限", font=label_font, fill=CARD_LABEL)
    draw.text((300, 427), "2020.01.01-2040.01.01", font=value_font, fill=CARD_TEXT)
    _watermark(card, size=190, angle=20, alpha=80)
    return card


if __name__ == "__main__":
    main()
