"""Tests for app.documents.images: format checks, limits, re-encoding and ID photo warnings."""

import io
import random
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFile, PngImagePlugin, features

from app.documents import images
from app.documents.images import (
    APPLICATION_FORM,
    ID_CARD_BACK,
    ID_CARD_FRONT,
    PHOTO,
    ImageRejected,
    StoredImage,
    process_upload,
)
from tests.conftest import FIXTURES

UPLOADS = FIXTURES / "uploads"
REPO_ROOT = Path(__file__).resolve().parents[1]

# info keys that Pillow reports for its own JPEG and PNG output without metadata.
JFIF_KEYS = {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
CORRUPT = "图片文件不完整或已损坏"


def fixture_bytes(name: str) -> bytes:
    return (UPLOADS / name).read_bytes()


def encode(image: Image.Image, image_format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def reopen(result: StoredImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.data))
    image.load()
    return image


def rejection(raw: bytes, kind: str = APPLICATION_FORM) -> str:
    with pytest.raises(ImageRejected) as caught:
        process_upload(raw, kind)
    assert caught.value.message == str(caught.value)
    return caught.value.message


def assert_no_metadata(result: StoredImage) -> None:
    stored = reopen(result)
    assert dict(stored.getexif()) == {}
    if result.source_format == "JPEG":
        assert set(stored.info) <= JFIF_KEYS
        assert [marker for marker, _ in stored.applist] == ["APP0"]
    else:
        assert stored.info == {}
        assert stored.text == {}


def set_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """Return the JPEG with the size in its SOF segment replaced, pixel data unchanged."""
    patched = bytearray(data)
    position = 2
    while position < len(patched):
        marker = patched[position + 1]
        length = struct.unpack(">H", patched[position + 2 : position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            patched[position + 5 : position + 9] = struct.pack(">HH", height, width)
            return bytes(patched)
        position += 2 + length
    raise AssertionError("no SOF segment found")


def png_chunk(chunk_type: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + body)
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", crc)


def one_colour_png(width: int, height: int) -> bytes:
    """Build a valid black 1-bit PNG row by row, without a full-size image in memory."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then all-black pixels
    compressor = zlib.compressobj(9)
    rows_per_call = 500
    parts = []
    for first in range(0, height, rows_per_call):
        parts.append(compressor.compress(row * min(rows_per_call, height - first)))
    parts.append(compressor.flush())
    return (
        images.PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def id_photo(size: tuple[int, int], background=(255, 255, 255)) -> Image.Image:
    """Draw an ID photo: head and shoulders on a plain background, as in a 2-inch photo."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((0.3 * width, 0.15 * height, 0.7 * width, 0.55 * height), fill=(224, 190, 160))
    draw.rectangle((0.15 * width, 0.6 * height, 0.85 * width, height), fill=(40, 60, 110))
    return image


@pytest.fixture
def forbid_decoding(monkeypatch):
    """Make any pixel decoding fail, to prove that a rejection came before it."""

    def load(self):
        raise AssertionError(f"decoded a {self.size[0]}x{self.size[1]} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


# --- Real uploads ----------------------------------------------------------------------------


def test_application_form_scan_accepted():
    result = process_upload(fixture_bytes("application-form-scan.png"), APPLICATION_FORM)

    assert result.source_format == "PNG"
    assert result.content_type == "image/png"
    assert result.extension == "png"
    assert (result.width, result.height) == (1240, 1754)
    assert result.warnings == ()
    assert result.data.startswith(images.PNG_SIGNATURE)
    stored = reopen(result)
    assert stored.format == "PNG"
    assert stored.mode == "RGB"
    assert stored.size == (1240, 1754)
    assert_no_metadata(result)


def test_phone_photo_downscaled_and_stripped():
    raw = fixture_bytes("id-card-phone-photo.jpg")
    assert b"PhoneMaker" in raw

    result = process_upload(raw, ID_CARD_FRONT)

    assert result.source_format == "JPEG"
    assert result.content_type == "image/jpeg"
    assert result.extension == "jpg"
    assert (result.width, result.height) == (2000, 1500)
    assert result.warnings == ()
    assert b"PhoneMaker" not in result.data
    assert b"Model X" not in result.data
    assert b"Exif" not in result.data
    stored = reopen(result)
    assert stored.format == "JPEG"
    assert stored.size == (2000, 1500)
    assert_no_metadata(result)


def test_phone_photo_decoded_at_half_scale(monkeypatch):
    decoded_sizes = []
    downscale = images._downscale

    def record_size(image, max_side):
        decoded_sizes.append(image.size)
        return downscale(image, max_side)

    monkeypatch.setattr(images, "_downscale", record_size)

    process_upload(fixture_bytes("id-card-phone-photo.jpg"), ID_CARD_BACK)

    assert decoded_sizes == [(2000, 1500)]


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_phone_photo_peak_memory():
    # Measured on x86-64 Linux with Pillow 13.0: about 22 MB with draft decoding and 81 MB
    # when the 4000x3000 photo is decoded at full size.
    script = (
        "import resource, sys\n"
        "from app.documents.images import ID_CARD_FRONT, process_upload\n"
        "raw = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "process_upload(raw, ID_CARD_FRONT)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(UPLOADS / "id-card-phone-photo.jpg")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    growth_mib = int(completed.stdout.strip()) / 1024
    assert growth_mib < 45, f"peak memory grew by {growth_mib:.1f} MiB"


def test_photo_fixture_has_no_warnings():
    result = process_upload(fixture_bytes("photo-2inch.jpg"), PHOTO)

    assert result.source_format == "JPEG"
    assert (result.width, result.height) == (413, 579)
    assert result.warnings == ()
    assert_no_metadata(result)


def test_renamed_pdf_rejected():
    message = rejection(fixture_bytes("not-an-image.jpg"))

    assert message.startswith("文件内容是 PDF 文档，不是图片")
    assert "请把申请表拍照或扫描成 JPG/PNG 后上传" in message


def test_pdf_message_names_document_kind():
    message = rejection(fixture_bytes("not-an-image.jpg"), ID_CARD_FRONT)

    assert "请把身份证正面拍照或扫描成 JPG/PNG 后上传" in message


def test_truncated_jpeg_rejected():
    message = rejection(fixture_bytes("truncated.jpg"))

    assert message.startswith(CORRUPT)
    assert "请重新拍照或重新导出后上传" in message


def test_animated_gif_rejected():
    message = rejection(fixture_bytes("animated.gif"), PHOTO)

    assert message.startswith("文件内容是 GIF")
    assert "JPG 或 PNG" in message


# --- Input checks ----------------------------------------------------------------------------


def test_empty_upload_rejected():
    message = rejection(b"", PHOTO)

    assert message.startswith("文件是空的（0 字节）")
    assert "请重新选择2寸照片的 JPG 或 PNG 图片后上传" in message


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"kind": "passport"}, "unknown document kind 'passport'"),
        ({"kind": PHOTO, "max_side": 199}, "max_side must be at least 200, got 199"),
        ({"kind": PHOTO, "jpeg_quality": 0}, "jpeg_quality must be between 1 and 95, got 0"),
        ({"kind": PHOTO, "jpeg_quality": 96}, "jpeg_quality must be between 1 and 95, got 96"),
    ],
)
def test_invalid_arguments_raise_value_error(arguments, error):
    with pytest.raises(ValueError, match=error) as caught:
        process_upload(fixture_bytes("photo-2inch.jpg"), **arguments)

    assert not isinstance(caught.value, ImageRejected)


def test_max_side_argument_applied():
    result = process_upload(fixture_bytes("id-card-phone-photo.jpg"), ID_CARD_FRONT, max_side=1000)

    assert (result.width, result.height) == (1000, 750)
    assert reopen(result).size == (1000, 750)


def test_jpeg_quality_argument_applied():
    raw = fixture_bytes("id-card-phone-photo.jpg")

    low = process_upload(raw, ID_CARD_FRONT, jpeg_quality=30)
    high = process_upload(raw, ID_CARD_FRONT, jpeg_quality=95)

    assert len(low.data) < len(high.data) / 2


# --- Formats other than PNG and JPEG ----------------------------------------------------------


def small_image() -> Image.Image:
    return Image.new("RGB", (300, 300), (10, 120, 200))


@pytest.mark.parametrize(
    ("raw", "expected_start"),
    [
        (encode(small_image(), "WEBP"), "文件内容是 WebP 格式的图片"),
        (encode(small_image(), "BMP"), "文件内容是 BMP 位图"),
        (encode(small_image(), "TIFF"), "文件内容是 TIFF 图片"),
        (encode(small_image(), "GIF"), "文件内容是 GIF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "文件内容是 HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic" + bytes(64), "文件内容是 HEIC/HEIF"),
        (b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif" + bytes(64), "文件内容是 AVIF"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41" + bytes(64), "文件内容是视频"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + bytes(64), "文件内容是视频"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "文件内容是 PDF 文档"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "文件内容是 SVG"),
        (b'\xef\xbb\xbf  \n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "文件内容是 SVG"),
        (b"<!DOCTYPE html><html><body>photo</body></html>", "文件内容是 SVG"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "文件内容是 Word、Excel"),
        (b"BMW 3 series brochure text", "无法识别的文件"),
        (b"hello", "无法识别的文件"),
        (bytes(range(256)), "无法识别的文件"),
    ],
    ids=[
        "webp",
        "bmp",
        "tiff",
        "gif",
        "heic",
        "heif-mif1",
        "avif-header",
        "mp4",
        "mov",
        "pdf",
        "svg",
        "svg-bom",
        "html",
        "ole2",
        "bm-text",
        "short-text",
        "binary",
    ],
)
def test_other_formats_rejected(raw, expected_start):
    message = rejection(raw)

    assert message.startswith(expected_start)


def test_heic_message_explains_camera_setting():
    raw = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)

    message = rejection(raw, PHOTO)

    assert "苹果手机默认" in message
    assert "“设置 > 相机 > 格式”中选择“兼容性最佳”" in message
    assert "导出为 JPG" in message


@pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")
def test_real_avif_rejected():
    message = rejection(encode(small_image(), "AVIF"))

    assert message.startswith("文件内容是 AVIF 格式的图片")


def test_docx_rejected_as_office_document():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")

    message = rejection(buffer.getvalue())

    assert message.startswith("文件内容是 Word、Excel 等 Office 文档或压缩包")
    assert "请把申请表拍照或扫描成 JPG/PNG 后上传" in message


def test_unknown_message_names_content_check():
    message = rejection(b"hello", ID_CARD_BACK)

    assert "与文件扩展名无关" in message
    assert "身份证反面" in message


# --- Damaged PNG and JPEG ---------------------------------------------------------------------


def test_png_signature_with_garbage_rejected():
    assert rejection(images.PNG_SIGNATURE + b"not a chunk at all").startswith(CORRUPT)


def test_jpeg_signature_with_garbage_rejected():
    assert rejection(b"\xff\xd8\xff" + bytes(100)).startswith(CORRUPT)


def test_truncated_png_rejected():
    raw = fixture_bytes("application-form-scan.png")

    assert rejection(raw[: len(raw) // 2]).startswith(CORRUPT)


def test_png_with_bad_crc_rejected():
    raw = bytearray(fixture_bytes("application-form-scan.png"))
    raw[40] ^= 0xFF  # inside the first IDAT chunk

    assert rejection(bytes(raw)).startswith(CORRUPT)


def test_damaged_uploads_never_raise_other_errors():
    rng = random.Random(20240601)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "FuzzMaker"
    sources = [
        encode(id_photo((300, 420)), "JPEG", exif=exif),
        encode(id_photo((300, 420)), "PNG", exif=exif),
    ]
    outcomes = {"stored": 0, "rejected": 0}
    for source in sources:
        for _ in range(150):
            damaged = bytearray(source)
            if rng.random() < 0.3:
                damaged = damaged[: rng.randrange(1, len(damaged))]
            else:
                for _ in range(rng.randint(1, 6)):
                    damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            with warnings.catch_warnings():
                # Pillow warns about the corrupt EXIF blocks that the damage creates.
                warnings.simplefilter("ignore", UserWarning)
                try:
                    result = process_upload(bytes(damaged), PHOTO)
                except ImageRejected:
                    outcomes["rejected"] += 1
                    continue
            assert b"FuzzMaker" not in result.data
            outcomes["stored"] += 1

    assert outcomes["stored"] > 0
    assert outcomes["rejected"] > 0


# --- Pixel limits -----------------------------------------------------------------------------


def test_png_bomb_rejected_before_decoding(forbid_decoding):
    # 900 MP, above Pillow's own hard limit, so Image.open raises DecompressionBombError.
    raw = one_colour_png(30_000, 30_000)
    assert len(raw) < 200_000

    message = rejection(raw)

    assert message.startswith("图片尺寸为 30000×30000 像素（约 90000 万像素）")
    assert "远超系统能处理的上限" in message


def test_png_over_limit_rejected_before_decoding(forbid_decoding):
    # 36 MP: below Pillow's default limits, above MAX_PNG_PIXELS.
    message = rejection(one_colour_png(6000, 6000))

    assert message.startswith("图片尺寸为 6000×6000 像素（约 3600 万像素）")
    assert "超过 PNG 图片 2500 万像素的上限" in message


def test_png_at_limit_accepted():
    result = process_upload(one_colour_png(5000, 5000), APPLICATION_FORM)

    assert (result.width, result.height) == (2000, 2000)
    assert reopen(result).getpixel((1000, 1000)) == (0, 0, 0)


def test_jpeg_over_limit_rejected_before_decoding(forbid_decoding):
    raw = set_jpeg_size(encode(small_image(), "JPEG"), 13_000, 10_000)

    message = rejection(raw)

    assert message.startswith("图片尺寸为 13000×10000 像素（约 13000 万像素）")
    assert "超过 JPEG 图片 12000 万像素的上限" in message


def test_jpeg_above_pillow_limit_rejected(forbid_decoding):
    raw = set_jpeg_size(encode(small_image(), "JPEG"), 20_000, 10_000)

    message = rejection(raw)

    assert message.startswith("图片尺寸为 20000×10000 像素（约 20000 万像素）")


def test_108_megapixel_jpeg_decoded_at_quarter_scale(recwarn, monkeypatch):
    # The header says 12000x9000 over the scan data of a small image. libjpeg fills the
    # missing rows with grey when it reaches the EOI marker, so the upload is accepted.
    raw = set_jpeg_size(encode(small_image(), "JPEG"), 12_000, 9_000)
    decoded_sizes = []
    downscale = images._downscale

    def record_size(image, max_side):
        decoded_sizes.append(image.size)
        return downscale(image, max_side)

    monkeypatch.setattr(images, "_downscale", record_size)

    result = process_upload(raw, ID_CARD_FRONT)

    assert decoded_sizes == [(3000, 2250)]
    assert (result.width, result.height) == (2000, 1500)
    assert [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)] == []


def test_progressive_jpeg_has_lower_limit(forbid_decoding):
    progressive = set_jpeg_size(encode(small_image(), "JPEG", progressive=True), 8000, 7000)

    message = rejection(progressive)

    assert message.startswith("图片尺寸为 8000×7000 像素（约 5600 万像素）")
    assert "超过渐进式 JPG 图片 5200 万像素的上限" in message


def test_baseline_jpeg_of_same_size_accepted():
    baseline = set_jpeg_size(encode(small_image(), "JPEG"), 8000, 7000)

    result = process_upload(baseline, ID_CARD_FRONT)

    assert (result.width, result.height) == (2000, 1750)


def test_tiny_image_rejected(forbid_decoding):
    message = rejection(encode(Image.new("RGB", (50, 50), "white"), "PNG"), PHOTO)

    assert message.startswith("图片只有 50×50 像素，太小")
    assert "短边至少需要 200 像素" in message


def test_narrow_image_rejected():
    message = rejection(encode(Image.new("RGB", (199, 800), "white"), "JPEG"))

    assert message.startswith("图片只有 199×800 像素")


def test_minimum_size_accepted():
    result = process_upload(encode(Image.new("RGB", (200, 200), "white"), "JPEG"), ID_CARD_BACK)

    assert (result.width, result.height) == (200, 200)


def test_global_pillow_settings_unchanged():
    max_pixels = Image.MAX_IMAGE_PIXELS

    rejection(one_colour_png(30_000, 30_000))
    rejection(fixture_bytes("truncated.jpg"))
    process_upload(set_jpeg_size(encode(small_image(), "JPEG"), 12_000, 9_000), ID_CARD_FRONT)

    assert max_pixels == Image.MAX_IMAGE_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- Orientation, colour and metadata ---------------------------------------------------------


def rotated_sample() -> bytes:
    """A 600x400 JPEG, left half red and right half blue, with EXIF orientation 6."""
    image = Image.new("RGB", (600, 400), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 300, 400))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    return encode(image, "JPEG", exif=exif, quality=95)


def test_exif_orientation_applied():
    result = process_upload(rotated_sample(), ID_CARD_FRONT)

    assert (result.width, result.height) == (400, 600)
    stored = reopen(result)
    # Orientation 6 means "rotate 90 degrees clockwise to display", so the left half of the
    # stored pixels becomes the top half.
    top_red, top_green, top_blue = stored.getpixel((200, 100))
    bottom_red, bottom_green, bottom_blue = stored.getpixel((200, 500))
    assert top_red > 240
    assert max(top_green, top_blue) < 15
    assert bottom_blue > 240
    assert max(bottom_red, bottom_green) < 15
    assert dict(stored.getexif()) == {}


def test_jpeg_metadata_removed():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestMakerCo"
    exif[ExifTags.Base.Model] = "TestModel 9"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (24.0, 28.0, 47.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (118.0, 5.0, 23.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>XmpSecret</rdf:RDF></x:xmpmeta>'
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = encode(
        id_photo((413, 579)),
        "JPEG",
        exif=exif,
        xmp=xmp,
        icc_profile=icc,
        comment="CommentSecret",
        dpi=(300, 300),
    )
    source = Image.open(io.BytesIO(raw))
    assert {"exif", "xmp", "icc_profile", "comment"} <= set(source.info)
    assert ExifTags.IFD.GPSInfo in source.getexif()

    result = process_upload(raw, PHOTO)

    assert result.warnings == ()
    for secret in (b"TestMakerCo", b"TestModel 9", b"XmpSecret", b"CommentSecret", b"Exif"):
        assert secret not in result.data
    assert_no_metadata(result)
    assert "dpi" not in reopen(result).info


def test_png_metadata_removed():
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "AuthorSecret")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>XmpSecret</x:xmpmeta>")
    text.add_text("Comment", "CommentSecret", zip=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestMakerCo"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = encode(id_photo((413, 579)), "PNG", pnginfo=text, exif=exif, icc_profile=icc)

    result = process_upload(raw, APPLICATION_FORM)

    assert result.source_format == "PNG"
    for secret in (b"AuthorSecret", b"XmpSecret", b"TestMakerCo", b"iCCP", b"eXIf", b"tEXt"):
        assert secret not in result.data
    assert_no_metadata(result)


def test_metadata_check_rejects_leaks():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestMakerCo"
    with_exif = encode(small_image(), "JPEG", exif=exif)
    with_comment = encode(small_image(), "JPEG", comment="note")
    with_icc = encode(small_image(), "PNG", icc_profile=swapped_primaries_profile())

    with pytest.raises(RuntimeError, match="metadata: exif, EXIF tags, APP1"):
        images._verify_no_metadata(with_exif)
    with pytest.raises(RuntimeError, match="metadata: comment, COM"):
        images._verify_no_metadata(with_comment)
    with pytest.raises(RuntimeError, match="metadata: icc_profile"):
        images._verify_no_metadata(with_icc)
    images._verify_no_metadata(encode(small_image(), "JPEG"))


def test_appended_data_dropped():
    raw = fixture_bytes("photo-2inch.jpg") + b"%PDF-1.4 hidden payload"

    result = process_upload(raw, PHOTO)

    assert b"hidden payload" not in result.data


def test_rgba_png_composited_on_white():
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 100, 300))
    image.paste((0, 0, 0, 128), (200, 0, 300, 300))

    result = process_upload(encode(image, "PNG"), APPLICATION_FORM)

    stored = reopen(result)
    assert stored.mode == "RGB"
    assert stored.getpixel((50, 150)) == (255, 0, 0)
    assert stored.getpixel((150, 150)) == (255, 255, 255)
    assert stored.getpixel((250, 150)) == (127, 127, 127)


def test_palette_png_converted():
    image = Image.new("P", (300, 300), 0)
    image.putpalette([255, 255, 0, 0, 128, 0] + [0] * 762)
    image.paste(1, (0, 0, 150, 300))
    raw = encode(image, "PNG", transparency=0)
    assert Image.open(io.BytesIO(raw)).mode == "P"

    result = process_upload(raw, APPLICATION_FORM)

    stored = reopen(result)
    assert stored.mode == "RGB"
    assert stored.getpixel((50, 150)) == (0, 128, 0)
    # Palette index 0 is transparent, so its yellow becomes the white background.
    assert stored.getpixel((250, 150)) == (255, 255, 255)


def test_greyscale_alpha_png_converted():
    image = Image.new("LA", (300, 300), (0, 0))
    image.paste((90, 255), (0, 0, 150, 300))

    stored = reopen(process_upload(encode(image, "PNG"), APPLICATION_FORM))

    assert stored.getpixel((50, 150)) == (90, 90, 90)
    assert stored.getpixel((250, 150)) == (255, 255, 255)


def test_cmyk_jpeg_converted():
    image = Image.new("CMYK", (300, 300), (0, 255, 255, 0))
    raw = encode(image, "JPEG", quality=95)
    assert Image.open(io.BytesIO(raw)).mode == "CMYK"

    result = process_upload(raw, ID_CARD_FRONT)

    stored = reopen(result)
    assert stored.mode == "RGB"
    red, green, blue = stored.getpixel((150, 150))
    assert red > 245
    assert green < 10
    assert blue < 10


def test_16_bit_greyscale_png_scaled():
    image = Image.new("I;16", (300, 300), 0)
    # Pasting a plain 32768 into an I;16 image stores 0 in Pillow 13, so paste images.
    image.paste(Image.new("I;16", (100, 300), 32768), (100, 0))
    image.paste(Image.new("I;16", (100, 300), 65535), (200, 0))
    raw = encode(image, "PNG")
    assert Image.open(io.BytesIO(raw)).mode == "I;16"

    stored = reopen(process_upload(raw, APPLICATION_FORM))

    assert stored.mode == "RGB"
    assert stored.getpixel((50, 150)) == (0, 0, 0)
    assert stored.getpixel((150, 150)) == (127, 127, 127)
    assert stored.getpixel((250, 150)) == (255, 255, 255)


def swapped_primaries_profile() -> bytes:
    """Return lcms's sRGB profile with the red and green primaries swapped."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    tag_count = struct.unpack(">I", profile[128:132])[0]
    entries = {}
    for index in range(tag_count):
        offset = 132 + 12 * index
        entries[bytes(profile[offset : offset + 4])] = offset
    red_entry, green_entry = entries[b"rXYZ"], entries[b"gXYZ"]
    red_location = profile[red_entry + 4 : red_entry + 12]
    profile[red_entry + 4 : red_entry + 12] = profile[green_entry + 4 : green_entry + 12]
    profile[green_entry + 4 : green_entry + 12] = red_location
    return bytes(profile)


def test_icc_profile_converted_to_srgb():
    image = Image.new("RGB", (300, 300), (255, 0, 0))
    raw = encode(image, "PNG", icc_profile=swapped_primaries_profile())

    stored = reopen(process_upload(raw, APPLICATION_FORM))

    # Under the swapped profile, the stored value (255, 0, 0) means pure green.
    assert stored.getpixel((150, 150)) == (0, 255, 0)
    assert "icc_profile" not in stored.info


def test_unreadable_icc_profile_ignored():
    image = Image.new("RGB", (300, 300), (200, 40, 40))
    raw = encode(image, "PNG", icc_profile=b"not an ICC profile" * 10)

    result = process_upload(raw, APPLICATION_FORM)

    stored = reopen(result)
    assert stored.getpixel((150, 150)) == (200, 40, 40)
    assert_no_metadata(result)


def test_mpo_first_frame_stored_as_jpeg():
    first = Image.new("RGB", (800, 600), (255, 0, 0))
    second = Image.new("RGB", (400, 300), (0, 0, 255))
    raw = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(raw)).format == "MPO"

    result = process_upload(raw, ID_CARD_FRONT)

    assert result.source_format == "JPEG"
    assert (result.width, result.height) == (800, 600)
    stored = reopen(result)
    assert stored.format == "JPEG"
    assert stored.getpixel((400, 300))[0] > 245
    assert_no_metadata(result)


# --- ID photo warnings ------------------------------------------------------------------------


def photo_warnings(image: Image.Image, kind: str = PHOTO) -> tuple[str, ...]:
    return process_upload(encode(image, "PNG"), kind).warnings


@pytest.mark.parametrize(
    "size",
    [(413, 579), (390, 567), (450, 600), (826, 1158)],
    ids=["2-inch", "small-2-inch", "3-to-4", "2-inch-600dpi"],
)
def test_photo_proportions_accepted(size):
    assert photo_warnings(id_photo(size)) == ()


def test_landscape_photo_warned():
    found = photo_warnings(id_photo((579, 413)))

    assert len(found) == 1
    assert found[0].startswith("照片是横向的（579×413 像素）")
    assert "请竖向拍摄或按二寸尺寸裁剪后重新上传" in found[0]


def test_square_photo_warned():
    found = photo_warnings(id_photo((500, 500)))

    assert len(found) == 1
    assert found[0].startswith("照片宽高比为 1.00（500×500 像素）")
    assert "35×49 毫米" in found[0]


def test_large_2_inch_proportion_warned():
    # 35x53 mm, width:height 0.66, is outside the accepted 0.68-0.75.
    found = photo_warnings(id_photo((413, 626)))

    assert len(found) == 1
    assert found[0].startswith("照片宽高比为 0.66")


def test_dark_background_warned():
    found = photo_warnings(id_photo((413, 579), background=(100, 100, 100)))

    assert len(found) == 1
    assert found[0].startswith("照片背景偏暗或偏灰（上边缘平均亮度 100")
    assert "白墙前重新拍摄" in found[0]


def test_off_white_background_accepted():
    assert photo_warnings(id_photo((413, 579), background=(232, 226, 214))) == ()


def test_blue_background_warned():
    found = photo_warnings(id_photo((413, 579), background=(67, 142, 219)))

    assert len(found) == 1
    assert found[0].startswith("照片背景不是白色，而是带颜色")


def test_light_blue_background_warned():
    found = photo_warnings(id_photo((413, 579), background=(200, 220, 240)))

    assert len(found) == 1
    assert found[0].startswith("照片背景不是白色")


def test_dark_corner_warned():
    image = id_photo((413, 579))
    image.paste((30, 30, 30), (0, 0, 60, 140))  # a door frame in the top-left corner

    found = photo_warnings(image)

    assert len(found) == 1
    assert found[0].startswith("照片背景偏暗或偏灰")


def test_low_resolution_photo_warned():
    found = photo_warnings(id_photo((250, 350)))

    assert len(found) == 1
    assert found[0].startswith("照片分辨率偏低（250×350 像素）")
    assert "至少需要 295×413 像素，建议 413×579 像素" in found[0]


def test_minimum_print_resolution_accepted():
    assert photo_warnings(id_photo((295, 413))) == ()


def test_several_photo_problems_all_warned():
    found = photo_warnings(id_photo((350, 250), background=(90, 90, 90)))

    assert len(found) == 3
    assert found[0].startswith("照片是横向的")
    assert found[1].startswith("照片背景偏暗或偏灰")
    assert found[2].startswith("照片分辨率偏低（350×250 像素）")


def test_rotated_portrait_photo_not_warned():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    stored_sideways = id_photo((413, 579)).transpose(Image.Transpose.ROTATE_90)
    raw = encode(stored_sideways, "JPEG", exif=exif, quality=95)

    result = process_upload(raw, PHOTO)

    assert (result.width, result.height) == (413, 579)
    assert result.warnings == ()


def test_large_photo_resolution_from_source():
    # Stored at 286x400, below the print minimum, but the warning judges the upload itself.
    result = process_upload(encode(id_photo((1000, 1400)), "JPEG"), PHOTO, max_side=400)

    assert (result.width, result.height) == (286, 400)
    assert result.warnings == ()


@pytest.mark.parametrize("kind", [APPLICATION_FORM, ID_CARD_FRONT, ID_CARD_BACK])
def test_other_kinds_never_warned(kind):
    assert photo_warnings(id_photo((350, 250), background=(90, 90, 90)), kind) == ()
