"""Uploading enrollment documents through the web, and who may download them."""

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import DocumentKind, Enrollment, EnrollmentDocument, EnrollmentStatus
from tests.conftest import create_unit_with_admin, extract_csrf, login
from tests.test_enrollments_list import add_enrollment, demo_unit

UPLOADS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "uploads"

# Each real fixture: the kind it is uploaded as, and the outcome.
# An accepted file gives (stored content type, max side); a rejected one gives a message part.
ACCEPTED = {
    "application-form-scan.png": (DocumentKind.APPLICATION_FORM, "image/png", 1754),
    "id-card-phone-photo.jpg": (DocumentKind.ID_CARD_FRONT, "image/jpeg", 2000),
    "photo-2inch.jpg": (DocumentKind.PHOTO, "image/jpeg", 579),
}
REJECTED = {
    "not-an-image.jpg": "PDF",
    "truncated.jpg": "不完整",
    "animated.gif": "GIF",
}


@pytest.fixture
def draft(app):
    with app.app_context():
        return add_enrollment(demo_unit(), "王东", "350623199112042011").id


def upload(client, enrollment_id: int, kind: str, content: bytes, name: str):
    page = client.get(f"/enrollments/{enrollment_id}/steps/4")
    token = extract_csrf(page.get_data(as_text=True))
    return client.post(
        f"/enrollments/{enrollment_id}/documents/{kind}",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def current(enrollment_id: int) -> dict[str, EnrollmentDocument]:
    rows = db.session.scalars(
        select(EnrollmentDocument).where(
            EnrollmentDocument.enrollment_id == enrollment_id,
            EnrollmentDocument.replaced_at.is_(None),
        )
    )
    return {row.kind: row for row in rows}


@pytest.mark.parametrize("file_name", sorted(ACCEPTED))
def test_fixture_accepted_and_stored(client, app, draft, file_name):
    kind, content_type, max_side = ACCEPTED[file_name]
    login(client, "demo_admin", "demo123")
    response = upload(client, draft, kind, (UPLOADS / file_name).read_bytes(), file_name)

    assert f"{DocumentKind.LABELS[kind]}已上传" in response.get_data(as_text=True)
    with app.app_context():
        document = current(draft)[kind]
        assert document.content_type == content_type
        assert max(document.width, document.height) == max_side
        assert document.original_name == file_name
        stored = Path(app.config["UPLOAD_DIR"]) / document.storage_name
        image = Image.open(stored)
        assert image.format == ("PNG" if content_type == "image/png" else "JPEG")
        assert image.size == (document.width, document.height)
        assert not Path(app.config["UPLOAD_DIR"]).is_relative_to(Path(app.static_folder))


@pytest.mark.parametrize("file_name", sorted(REJECTED))
def test_fixture_rejected_with_reason(client, app, draft, file_name):
    files_before = stored_files(app)
    login(client, "demo_admin", "demo123")
    response = upload(
        client, draft, DocumentKind.PHOTO, (UPLOADS / file_name).read_bytes(), file_name
    )
    html = response.get_data(as_text=True)
    assert "2寸免冠白底彩色照片上传失败" in html
    assert REJECTED[file_name] in html
    with app.app_context():
        assert current(draft) == {}
    assert stored_files(app) == files_before


def stored_files(app) -> set[Path]:
    return {path for path in Path(app.config["UPLOAD_DIR"]).rglob("*") if path.is_file()}


def test_phone_photo_loses_gps_and_camera_metadata(client, app, draft):
    original = (UPLOADS / "id-card-phone-photo.jpg").read_bytes()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # GPS present before
    login(client, "demo_admin", "demo123")
    upload(client, draft, DocumentKind.ID_CARD_FRONT, original, "IMG_0001.jpg")

    with app.app_context():
        document = current(draft)[DocumentKind.ID_CARD_FRONT]
        stored = (Path(app.config["UPLOAD_DIR"]) / document.storage_name).read_bytes()
    image = Image.open(io.BytesIO(stored))
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"GPS" not in stored
    assert len(stored) < len(original) / 2


def test_downloaded_document_matches_stored_file(client, app, draft):
    login(client, "demo_admin", "demo123")
    upload(client, draft, DocumentKind.PHOTO, (UPLOADS / "photo-2inch.jpg").read_bytes(), "a.jpg")
    with app.app_context():
        document = current(draft)[DocumentKind.PHOTO]
        stored = (Path(app.config["UPLOAD_DIR"]) / document.storage_name).read_bytes()
        token = document.token

    response = client.get(f"/documents/{token}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.data == stored
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(token) >= 32 and not token.isdigit()


def test_document_url_gives_404_to_anyone_else(app, draft):
    other_admin = app.test_client()
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    owner = app.test_client()
    login(owner, "demo_admin", "demo123")
    upload(owner, draft, DocumentKind.PHOTO, (UPLOADS / "photo-2inch.jpg").read_bytes(), "a.jpg")
    with app.app_context():
        token = current(draft)[DocumentKind.PHOTO].token

    anonymous = app.test_client()
    assert anonymous.get(f"/documents/{token}").status_code == 404
    login(other_admin, "other_admin", "secret123")
    assert other_admin.get(f"/documents/{token}").status_code == 404
    assert other_admin.get(f"/enrollments/{draft}/steps/4").status_code == 404
    assert other_admin.get(f"/enrollments/{draft}/application-form.pdf").status_code == 404
    assert owner.get("/documents/" + "A" * 32).status_code == 404
    assert owner.get(f"/documents/{token}").status_code == 200

    reviewer = app.test_client()
    login(reviewer, "reviewer", "reviewer123", role="staff")
    assert reviewer.get(f"/documents/{token}").status_code == 200


def test_other_unit_cannot_upload(app, draft):
    with app.app_context():
        create_unit_with_admin("OTHER", "other_admin")
    client = app.test_client()
    login(client, "other_admin", "secret123")
    page = client.get("/enrollments/")
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post(
        f"/enrollments/{draft}/documents/photo",
        data={"csrf_token": token, "file": (io.BytesIO(b"x"), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    with app.app_context():
        assert current(draft) == {}


def test_replaced_document_kept_until_approved(client, app, draft):
    login(client, "demo_admin", "demo123")
    photo = (UPLOADS / "photo-2inch.jpg").read_bytes()
    upload(client, draft, DocumentKind.PHOTO, photo, "first.jpg")
    with app.app_context():
        first = current(draft)[DocumentKind.PHOTO]
        first_file = Path(app.config["UPLOAD_DIR"]) / first.storage_name
    html = upload(client, draft, DocumentKind.PHOTO, photo, "second.jpg").get_data(as_text=True)
    assert "已替换的历史资料（1 份" in html

    with app.app_context():
        rows = db.session.scalars(
            select(EnrollmentDocument).where(EnrollmentDocument.enrollment_id == draft)
        ).all()
        assert sorted((r.original_name, r.replaced_at is None) for r in rows) == [
            ("first.jpg", False),
            ("second.jpg", True),
        ]
        assert first_file.is_file()
        # Approval removes the history, rows and files.
        from app.review.adapter import EnrollmentAdapter
        from workflows.subjects import StatusChange

        enrollment = db.session.get(Enrollment, draft)
        EnrollmentAdapter().apply_statuses(
            [StatusChange(enrollment, EnrollmentStatus.APPROVED, None, "审核", None)]
        )
        db.session.commit()
        rows = db.session.scalars(
            select(EnrollmentDocument).where(EnrollmentDocument.enrollment_id == draft)
        ).all()
        assert [r.original_name for r in rows] == ["second.jpg"]
    assert not first_file.exists()


def test_upload_refused_once_submitted(client, app, draft):
    with app.app_context():
        enrollment = db.session.get(Enrollment, draft)
        enrollment.status = EnrollmentStatus.PENDING_REVIEW
        db.session.commit()
    login(client, "demo_admin", "demo123")
    html = upload(
        client, draft, DocumentKind.PHOTO, (UPLOADS / "photo-2inch.jpg").read_bytes(), "a.jpg"
    ).get_data(as_text=True)
    assert "报名状态为“待审核”，资料不能再修改。" in html
    with app.app_context():
        assert current(draft) == {}


def test_upload_without_file_explained(client, app, draft):
    login(client, "demo_admin", "demo123")
    page = client.get(f"/enrollments/{draft}/steps/4")
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post(
        f"/enrollments/{draft}/documents/photo",
        data={"csrf_token": token},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "请先选择要上传的图片（JPG 或 PNG）。" in response.get_data(as_text=True)


def test_landscape_dark_photo_warns_but_is_stored(client, app, draft):
    buffer = io.BytesIO()
    Image.new("RGB", (800, 500), (30, 30, 30)).save(buffer, "JPEG")
    login(client, "demo_admin", "demo123")
    html = upload(client, draft, DocumentKind.PHOTO, buffer.getvalue(), "dark.jpg").get_data(
        as_text=True
    )
    assert "2寸免冠白底彩色照片已上传" in html
    warnings = re.findall(r"2寸免冠白底彩色照片：([^<]+)", html)
    assert len(warnings) >= 2
    with app.app_context():
        assert len(current(draft)[DocumentKind.PHOTO].warning_list) >= 2


def test_oversized_upload_explained_and_nothing_stored(client, app, draft):
    login(client, "demo_admin", "demo123")
    page = client.get(f"/enrollments/{draft}/steps/4")
    token = extract_csrf(page.get_data(as_text=True))
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    try:
        response = client.post(
            f"/enrollments/{draft}/documents/photo",
            data={"csrf_token": token, "file": (io.BytesIO(b"\xff" * (3 * 1024 * 1024)), "a.jpg")},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "图片超过 2 MB，无法上传" in response.get_data(as_text=True)
    with app.app_context():
        assert current(draft) == {}


def test_orphan_files_removed_but_live_and_recent_kept(client, app, draft):
    import os
    import time

    from app.documents.storage import remove_orphan_files

    login(client, "demo_admin", "demo123")
    upload(client, draft, DocumentKind.PHOTO, (UPLOADS / "photo-2inch.jpg").read_bytes(), "a.jpg")
    root = Path(app.config["UPLOAD_DIR"])
    old_orphan = root / "zz" / "orphan.jpg"
    new_orphan = root / "zz" / "fresh.jpg"
    old_orphan.parent.mkdir(parents=True, exist_ok=True)
    old_orphan.write_bytes(b"x")
    new_orphan.write_bytes(b"y")
    two_hours_ago = time.time() - 7200
    os.utime(old_orphan, (two_hours_ago, two_hours_ago))
    with app.app_context():
        live = root / current(draft)[DocumentKind.PHOTO].storage_name
        os.utime(live, (two_hours_ago, two_hours_ago))
        # Other tests' live documents are also in this folder; keep only what rows name.
        remove_orphan_files()
    assert not old_orphan.exists()
    assert new_orphan.exists()
    assert live.exists()


def test_document_download_names_kind(client, app, draft):
    login(client, "demo_admin", "demo123")
    upload(client, draft, DocumentKind.PHOTO, (UPLOADS / "photo-2inch.jpg").read_bytes(), "a.jpg")
    with app.app_context():
        token = current(draft)[DocumentKind.PHOTO].token
    inline = client.get(f"/documents/{token}").headers["Content-Disposition"]
    attachment = client.get(f"/documents/{token}?download=1").headers["Content-Disposition"]
    assert (
        inline
        == "inline; filename=\"photo.jpg\"; filename*=UTF-8''2%E5%AF%B8%E7%85%A7%E7%89%87.jpg"
    )
    assert attachment.startswith('attachment; filename="photo.jpg"')
