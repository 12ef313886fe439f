"""Check and re-encode uploaded document images: application form, ID photo, ID card sides.

``process_upload`` accepts PNG and JPEG only, identified by content. It rejects other formats,
damaged files and decompression bombs with a Chinese message for the user. Accepted images are
decoded at bounded memory, turned upright by their EXIF orientation, converted to sRGB, scaled
down and re-encoded in the source format without any metadata (EXIF and GPS, XMP, ICC, text).
Re-encoding also drops anything appended to or hidden in the upload.
"""

import io
import logging
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat, JpegImagePlugin, PngImagePlugin

log = logging.getLogger(__name__)

APPLICATION_FORM = "application_form"
PHOTO = "photo"
ID_CARD_FRONT = "id_card_front"
ID_CARD_BACK = "id_card_back"

# Names of the documents in user messages.
DOCUMENT_LABELS = {
    APPLICATION_FORM: "申请表",
    PHOTO: "2寸照片",
    ID_CARD_FRONT: "身份证正面",
    ID_CARD_BACK: "身份证反面",
}

# Pixel limits, checked on the size declared in the header before any pixel is decoded.
# The memory figures below are ru_maxrss growth measured with Pillow 13.0 and libjpeg-turbo 3.2
# on x86-64 Linux.
#
# Baseline JPEG is draft-decoded at 1/2, 1/4 or 1/8 scale, so a 108 MP (12000x9000) photo is
# decoded at 3000x2250 in about 30 MB. 120 MP leaves room for 108 MP phone sensors. Above
# 2 * Image.MAX_IMAGE_PIXELS (about 179 MP by default) Image.open itself raises
# DecompressionBombError, which is rejected with the same kind of message.
MAX_JPEG_PIXELS = 120_000_000
# A progressive JPEG cannot be decoded row by row. libjpeg keeps every DCT coefficient of the
# full-size image, 2 bytes each: about 3 bytes per pixel with 4:2:0 chroma subsampling (a
# 108 MP file took 340 MB even at 1/4 scale) and 6 bytes per pixel without subsampling.
# 52 MP still admits a full-resolution 48 or 50 MP phone photo that an editor re-saved as
# progressive, at an estimated 156 to 312 MB.
MAX_PROGRESSIVE_JPEG_PIXELS = 52_000_000
# PNG cannot be decoded at reduced scale. Pillow stores 4 bytes per pixel for RGB and RGBA, and
# the conversion to RGB briefly needs a second copy, so 25 MP costs up to about 200 MB. That
# admits an A4 page scanned at 400 dpi (3307x4677, 15.5 MP) but not at 600 dpi (35 MP).
MAX_PNG_PIXELS = 25_000_000
# Below this the text of a form or an ID card cannot be read.
MIN_SHORT_SIDE = 200

# ID photo checks, which only add warnings.
# A 2-inch photo is 35x49 mm, width:height 5:7 (0.714). The accepted range includes the
# 33x48 mm "small 2-inch" size (0.688) and a 3:4 phone crop (0.75), which loses only 5% of
# the width when printed at 35x49 mm.
PHOTO_MIN_ASPECT = 0.68
PHOTO_MAX_ASPECT = 0.75
# 413x579 px is 35x49 mm at 300 dpi. 295x413 px (about 214 dpi) is taken as the smallest size
# that still prints acceptably.
PHOTO_MIN_WIDTH = 295
PHOTO_MIN_HEIGHT = 413
# The background is sampled in the top strip (5% of the height) and in the top corners (15% of
# the width by 25% of the height). In a typical ID photo the head starts about 10% below the
# top edge and is at most about 65% as wide as the photo, so these regions show background.
PHOTO_TOP_STRIP = 0.05
PHOTO_CORNER_WIDTH = 0.15
PHOTO_CORNER_HEIGHT = 0.25
# Mean luma (ITU-R 601, 0-255) of each region. By estimate, not measured on a set of photos, a
# studio white background is 240-255 and a white wall at home in daylight about 200-235.
# Below 200 the background prints visibly grey.
BACKGROUND_MIN_BRIGHTNESS = 200
# Mean chroma, max(R,G,B) - min(R,G,B) on 0-255, of each region. Slightly warm or cool white
# stays below 30. Light blue (200,220,240) is 40 and the common blue ID background is about 150.
BACKGROUND_MAX_CHROMA = 30

WHITE = (255, 255, 255)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# Pillow reports a JPEG with an MP Format index (iPhone and Android HDR gain maps, multi-frame
# camera files) as "MPO". Its first frame is an ordinary JPEG.
JPEG_FORMATS = ("JPEG", "MPO")
# info keys through which Pillow reads or writes metadata.
METADATA_KEYS = frozenset(
    {
        "exif",
        "xmp",
        "XML:com.adobe.xmp",
        "icc_profile",
        "comment",
        "photoshop",
        "Raw profile type exif",
    }
)
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRejected(ValueError):
    """An upload that is not an acceptable image; .message is Chinese text for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StoredImage:
    data: bytes  # the re-encoded file to store
    content_type: str  # "image/jpeg" or "image/png"
    extension: str  # "jpg" or "png"
    width: int
    height: int
    source_format: str  # "JPEG" or "PNG", what the upload was
    warnings: tuple[str, ...]  # Chinese warnings for the user; never blocking


def process_upload(
    raw: bytes, kind: str, *, max_side: int = 2000, jpeg_quality: int = 85
) -> StoredImage:
    """Validate an uploaded image and return it re-encoded, downscaled and without metadata.

    ``kind`` is one of APPLICATION_FORM, PHOTO, ID_CARD_FRONT and ID_CARD_BACK. The longest
    side of the result is at most ``max_side`` pixels. Only PHOTO uploads get warnings.

    Raises ImageRejected when the upload is empty, not PNG or JPEG, damaged, or outside the
    pixel limits, and ValueError for an unknown kind or out-of-range arguments.
    """
    if kind not in DOCUMENT_LABELS:
        raise ValueError(
            f"unknown document kind {kind!r}, expected one of {sorted(DOCUMENT_LABELS)}"
        )
    if max_side < MIN_SHORT_SIDE:
        raise ValueError(f"max_side must be at least {MIN_SHORT_SIDE}, got {max_side}")
    if not 1 <= jpeg_quality <= 95:
        raise ValueError(f"jpeg_quality must be between 1 and 95, got {jpeg_quality}")
    label = DOCUMENT_LABELS[kind]
    if not raw:
        raise ImageRejected(
            "文件是空的（0 字节），可能没有选中文件或上传中断。"
            f"请重新选择{label}的 JPG 或 PNG 图片后上传。"
        )

    source_format = _identify_format(raw, label)
    image, source_size, icc_profile = _decode(raw, source_format, max_side)
    image = _flatten_to_rgb(image)
    image = _downscale(image, max_side)
    image = _convert_to_srgb(image, icc_profile)
    data = _encode(image, source_format, jpeg_quality)
    _verify_no_metadata(data)

    photo_warnings = _check_photo(image, source_size) if kind == PHOTO else ()
    is_jpeg = source_format == "JPEG"
    return StoredImage(
        data=data,
        content_type="image/jpeg" if is_jpeg else "image/png",
        extension="jpg" if is_jpeg else "png",
        width=image.width,
        height=image.height,
        source_format=source_format,
        warnings=photo_warnings,
    )


# --- Identification -------------------------------------------------------------------------

# Major brands of ISO base media files (ftyp box) that are HEIF still images. iPhones save
# photos as HEIC by default.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})
# Valid sizes of the DIB header, the 4-byte field after the 14-byte BMP file header.
BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
TEXT_PREFIXES = (b"<?xml", b"<svg", b"<!doctype", b"<html", b"<!--", b"<head", b"<body")


def _identify_format(raw: bytes, label: str) -> str:
    """Return "PNG" or "JPEG" from the magic bytes, or raise ImageRejected naming the format."""
    if raw.startswith(PNG_SIGNATURE):
        return "PNG"
    if raw.startswith(JPEG_SIGNATURE):
        return "JPEG"
    raise ImageRejected(_describe_unsupported(raw, label))


def _describe_unsupported(raw: bytes, label: str) -> str:
    """Return the rejection message for content that is not PNG or JPEG."""
    convert = f"请把{label}拍照或扫描成 JPG/PNG 后上传。"
    save_as = "系统只接受 JPG 和 PNG 格式，请用手机相册或画图软件另存为 JPG 或 PNG 后上传。"

    # PDF readers accept the header anywhere in the first 1024 bytes.
    if b"%PDF-" in raw[:1024]:
        return f"文件内容是 PDF 文档，不是图片，无法上传。{convert}"
    if raw.startswith((b"GIF87a", b"GIF89a")):
        return f"文件内容是 GIF 动图或 GIF 图片，不支持 GIF 格式。{save_as}"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return f"文件内容是 WebP 格式的图片。{save_as}"
    if raw[4:8] == b"ftyp":
        return _describe_iso_media(raw, label)
    if (
        raw[:2] == b"BM"
        and len(raw) >= 18
        and int.from_bytes(raw[14:18], "little") in BMP_HEADER_SIZES
    ):
        return f"文件内容是 BMP 位图。{save_as}"
    if raw[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return (
            "文件内容是 TIFF 图片（扫描仪常用格式，也可能是相机 RAW 原片），系统只接受 JPG 和 PNG。"
            "请在扫描或修图软件中另存为 JPG 或 PNG 后上传。"
        )

    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
        return f"文件内容是 Word、Excel 等 Office 文档或压缩包，不是图片。{convert}"

    text_start = raw[:512].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text_start.startswith(TEXT_PREFIXES):
        return f"文件内容是 SVG 矢量图、XML 或 HTML 网页等文本，不是照片或扫描图片。{convert}"

    return (
        "无法识别的文件：内容不是 JPG 或 PNG 图片（与文件扩展名无关）。"
        f"请确认选择的是{label}的照片或扫描件，格式为 JPG 或 PNG。"
    )


def _describe_iso_media(raw: bytes, label: str) -> str:
    """Return the rejection message for an ISO base media file: HEIC/HEIF, AVIF or video."""
    major_brand = raw[8:12]
    box_size = int.from_bytes(raw[:4], "big")
    compatible_brands = raw[16 : min(box_size, 64)]
    if major_brand in AVIF_BRANDS or (
        major_brand in (b"mif1", b"msf1") and b"avif" in compatible_brands
    ):
        return (
            "文件内容是 AVIF 格式的图片，系统只接受 JPG 和 PNG 格式。"
            "请用手机相册或画图软件另存为 JPG 或 PNG 后上传。"
        )
    if major_brand in HEIF_BRANDS:
        return (
            "文件内容是 HEIC/HEIF 格式的照片（苹果手机默认的拍照格式），"
            "系统只接受 JPG 和 PNG 格式。"
            "请在手机“设置 > 相机 > 格式”中选择“兼容性最佳”后重新拍摄，或把照片导出为 JPG 后上传。"
        )
    return f"文件内容是视频（MP4、MOV 等），不是图片。请上传{label}的 JPG 或 PNG 照片。"


# --- Decoding -------------------------------------------------------------------------------

CORRUPT_MESSAGE = (
    "图片文件不完整或已损坏，可能上传中断或文件在保存、传输时被截断。请重新拍照或重新导出后上传。"
)
# Pillow raises these for malformed PNG and JPEG data: OSError (including UnidentifiedImageError
# and "image file is truncated"), SyntaxError for broken PNG chunks, EOFError for misplaced
# chunks, and ValueError for invalid headers and oversized text chunks.
DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError)


def _decode(
    raw: bytes, source_format: str, max_side: int
) -> tuple[Image.Image, tuple[int, int], bytes | None]:
    """Decode the upload upright, JPEG at reduced scale where possible.

    Returns the image, the upright size of the upload in pixels before any scaling, and the
    embedded ICC profile (or None).
    """
    try:
        # Pillow warns above Image.MAX_IMAGE_PIXELS (about 89 MP by default) when it opens a
        # file. MAX_JPEG_PIXELS is higher and is checked right after, so the warning is muted
        # here instead of changing the global limit.
        # NOTE: warnings.catch_warnings changes the process-wide filter list while it is
        # active, so another thread may briefly miss a warning of its own.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=("PNG", "JPEG"))
    except Image.DecompressionBombError:
        width, height = _read_size_without_limit(raw, source_format)
        raise ImageRejected(_too_many_pixels_message(width, height, source_format, None)) from None
    except DECODE_ERRORS as error:
        log.info("Rejected a damaged %s upload: %s", source_format, error)
        raise ImageRejected(CORRUPT_MESSAGE) from None

    with image:
        _check_pixel_limits(image, source_format)
        declared_width, declared_height = image.size
        if image.format in JPEG_FORMATS:
            _set_jpeg_draft(image, max_side)
        try:
            # NOTE: a JPEG cut off before its EOI marker is rejected here. A JPEG whose scan
            # data ends early but is followed by an EOI marker is accepted, because libjpeg
            # fills the missing rows with grey and Pillow does not report libjpeg's warning.
            image.load()
        except DECODE_ERRORS as error:
            log.info("Rejected a damaged %s upload of %dx%d: %s", source_format, *image.size, error)
            raise ImageRejected(CORRUPT_MESSAGE) from None

        decoded_size = image.size
        _apply_exif_orientation(image)
        if image.size != decoded_size:
            declared_width, declared_height = declared_height, declared_width
        icc_profile = image.info.get("icc_profile")
    return image, (declared_width, declared_height), icc_profile


def _read_size_without_limit(raw: bytes, source_format: str) -> tuple[int, int]:
    """Return the declared size of a file that Image.open rejected as a decompression bomb.

    The plugin classes parse the header like Image.open but skip its pixel limit check, and
    they decode nothing.
    """
    plugin = (
        PngImagePlugin.PngImageFile if source_format == "PNG" else JpegImagePlugin.JpegImageFile
    )
    with plugin(io.BytesIO(raw)) as image:
        return image.size


def _check_pixel_limits(image: Image.Image, source_format: str) -> None:
    """Raise ImageRejected when the declared size is above the format's limit or too small."""
    width, height = image.size
    if image.format in JPEG_FORMATS and image.info.get("progressive"):
        limit = MAX_PROGRESSIVE_JPEG_PIXELS
    elif image.format in JPEG_FORMATS:
        limit = MAX_JPEG_PIXELS
    else:
        limit = MAX_PNG_PIXELS
    if width * height > limit:
        raise ImageRejected(_too_many_pixels_message(width, height, source_format, limit))
    if min(width, height) < MIN_SHORT_SIDE:
        raise ImageRejected(
            f"图片只有 {width}×{height} 像素，太小，看不清内容"
            f"（短边至少需要 {MIN_SHORT_SIDE} 像素）。"
            "请上传原图，不要上传缩略图或聊天软件压缩过的图片。"
        )


def _too_many_pixels_message(width: int, height: int, source_format: str, limit: int | None) -> str:
    size = f"图片尺寸为 {width}×{height} 像素（约 {width * height / 10_000:.0f} 万像素）"
    if limit is None:
        over = "远超系统能处理的上限"
    elif limit == MAX_PROGRESSIVE_JPEG_PIXELS:
        over = f"超过渐进式 JPG 图片 {limit // 10_000} 万像素的上限"
    else:
        over = f"超过 {source_format} 图片 {limit // 10_000} 万像素的上限"
    return (
        f"{size}，{over}。请用手机相册的编辑功能把图片缩小（例如长边 4000 像素以内）后重新上传，"
        "或在相机设置中调低分辨率后重新拍摄。"
    )


def _set_jpeg_draft(image: Image.Image, max_side: int) -> None:
    """Make libjpeg decode at 1/2, 1/4 or 1/8 scale, keeping the longest side >= max_side.

    Image.draft picks the largest such scale at which the image is still at least the requested
    size, so LANCZOS in _downscale does the final, better-quality step.
    """
    width, height = image.size
    factor = max_side / max(width, height)
    if factor > 0.5:
        return
    requested = (math.ceil(width * factor), math.ceil(height * factor))
    image.draft("RGB", requested)


def _apply_exif_orientation(image: Image.Image) -> None:
    """Rotate or flip the image in place to undo its EXIF orientation."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except DECODE_ERRORS as error:
        # A malformed EXIF block should not cost the user the upload. The image stays as it
        # was stored, and the EXIF block is dropped on re-encoding anyway.
        log.warning("Ignored unreadable EXIF orientation in an upload: %s", error)


# --- Conversion and encoding -----------------------------------------------------------------


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PNG or JPEG mode to RGB and composite transparency on white.

    CMYK stays CMYK when it has an ICC profile, because _convert_to_srgb converts it with that
    profile. 16-bit greyscale is scaled to 8 bits, because Pillow's convert() clips it.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
        # NOTE: a tRNS colour key of a 16-bit PNG is ignored and the keyed pixels stay as they
        # are. Pillow keeps the 16-bit key, which no longer matches the 8-bit values.
        grey.info.pop("transparency", None)
        image = grey
    if image.mode == "CMYK" and image.info.get("icc_profile"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, WHITE)
        flattened.paste(rgba, (0, 0), rgba)
        return flattened
    if image.mode == "RGB":
        return image
    return image.convert("RGB")


def _downscale(image: Image.Image, max_side: int) -> Image.Image:
    """Scale the image down with LANCZOS so that its longest side is at most max_side."""
    width, height = image.size
    if max(width, height) <= max_side:
        return image
    factor = max_side / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _convert_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert RGB or CMYK pixels from the embedded ICC profile to sRGB and return RGB.

    The profile is not written to the output, so without this step colours of Display P3
    (iPhone) or CMYK (print) files would shift. An unreadable or mismatched profile is skipped.
    """
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            colour_space = source.profile.xcolor_space.strip()
            if colour_space == image.mode:
                converted = ImageCms.profileToProfile(image, source, SRGB_PROFILE, outputMode="RGB")
                if converted is not None:
                    image = converted
            else:
                log.info("Ignored a %s ICC profile on a %s upload", colour_space, image.mode)
        except (OSError, ImageCms.PyCMSError) as error:
            log.warning("Ignored an unusable ICC profile in an upload: %s", error)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def _encode(image: Image.Image, source_format: str, jpeg_quality: int) -> bytes:
    """Encode the image as JPEG or PNG without metadata."""
    # Pillow's encoders copy the ICC profile, comment and transparency from image.info, and
    # convert() and resize() carry info over from the upload.
    image.info = {}
    buffer = io.BytesIO()
    if source_format == "JPEG":
        image.save(buffer, "JPEG", quality=jpeg_quality, optimize=True)
    else:
        image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _verify_no_metadata(data: bytes) -> None:
    """Raise RuntimeError when the encoded file still contains EXIF, XMP, ICC or comments."""
    with Image.open(io.BytesIO(data)) as encoded:
        leaked = sorted(METADATA_KEYS & encoded.info.keys())
        if len(encoded.getexif()):
            leaked.append("EXIF tags")
        app_markers = getattr(encoded, "applist", [])
        leaked.extend(marker for marker, _ in app_markers if marker != "APP0")
    if leaked:
        raise RuntimeError(f"re-encoded upload still contains metadata: {', '.join(leaked)}")


# --- ID photo checks -------------------------------------------------------------------------


def _check_photo(image: Image.Image, source_size: tuple[int, int]) -> tuple[str, ...]:
    """Return warnings about proportions, background and resolution of a 2-inch ID photo.

    ``image`` is the upright RGB result and ``source_size`` the upright size of the upload.
    """
    found = []
    width, height = image.size
    if width > height:
        found.append(
            f"照片是横向的（{width}×{height} 像素），二寸证件照应为竖版，宽高比约 5:7"
            "（如 413×579 像素）。请竖向拍摄或按二寸尺寸裁剪后重新上传。"
        )
    else:
        aspect = width / height
        if not PHOTO_MIN_ASPECT <= aspect <= PHOTO_MAX_ASPECT:
            found.append(
                f"照片宽高比为 {aspect:.2f}（{width}×{height} 像素），与二寸证件照的 5:7"
                "（约 0.71，如 413×579 像素）相差较大，打印时会被裁切或留白。"
                "请按二寸尺寸（35×49 毫米）裁剪后重新上传。"
            )

    background_warning = _check_background(image)
    if background_warning:
        found.append(background_warning)

    source_width, source_height = source_size
    if source_width < PHOTO_MIN_WIDTH or source_height < PHOTO_MIN_HEIGHT:
        found.append(
            f"照片分辨率偏低（{source_width}×{source_height} 像素），打印二寸照片至少需要 "
            f"{PHOTO_MIN_WIDTH}×{PHOTO_MIN_HEIGHT} 像素，建议 413×579 像素。"
            "请上传原图，不要上传聊天软件压缩过的图片，或重新拍摄。"
        )
    return tuple(found)


def _check_background(image: Image.Image) -> str | None:
    """Return a warning when the top strip or a top corner is not light, low-chroma white."""
    width, height = image.size
    strip_height = max(1, round(height * PHOTO_TOP_STRIP))
    corner_width = max(1, round(width * PHOTO_CORNER_WIDTH))
    corner_height = max(1, round(height * PHOTO_CORNER_HEIGHT))
    regions = [
        (0, 0, width, strip_height),
        (0, 0, corner_width, corner_height),
        (width - corner_width, 0, width, corner_height),
    ]
    brightness = min(_mean_luma(image.crop(box)) for box in regions)
    chroma = max(_mean_chroma(image.crop(box)) for box in regions)
    if chroma > BACKGROUND_MAX_CHROMA:
        return (
            "照片背景不是白色，而是带颜色（例如蓝底或红底）。本次报名需要白底彩色二寸证件照，"
            "请到照相馆拍摄白底照片，或在白墙前重新拍摄后上传。"
        )
    if brightness < BACKGROUND_MIN_BRIGHTNESS:
        return (
            f"照片背景偏暗或偏灰（上边缘平均亮度 {brightness:.0f}，白色背景应在 "
            f"{BACKGROUND_MIN_BRIGHTNESS} 以上，满分 255）。本次报名需要白底证件照，"
            "请在光线充足的白墙前重新拍摄，或到照相馆拍摄白底照片后上传。"
        )
    return None


def _mean_luma(region: Image.Image) -> float:
    return ImageStat.Stat(region.convert("L")).mean[0]


def _mean_chroma(region: Image.Image) -> float:
    red, green, blue = region.split()
    highest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    lowest = ImageChops.darker(ImageChops.darker(red, green), blue)
    return ImageStat.Stat(ImageChops.subtract(highest, lowest)).mean[0]
