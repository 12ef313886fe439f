"""Storing enrollment documents on disk and in the database, and removing replaced ones.

A file is written under UPLOAD_DIR before its row is committed. When the transaction rolls
back, the file is unlinked at once. Files of rows deleted in a transaction are unlinked only
after that transaction commits, so a rollback never leaves a row without its file.
"""

import hashlib
import logging
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.documents.images import ImageRejected, StoredImage, process_upload
from app.extensions import db
from app.models import DocumentKind, Enrollment, EnrollmentDocument, User, now

log = logging.getLogger(__name__)

# Session.info keys for files to unlink when the transaction ends.
_UNLINK_ON_COMMIT = "documents_unlink_on_commit"
_UNLINK_ON_ROLLBACK = "documents_unlink_on_rollback"


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def document_path(document: EnrollmentDocument) -> Path:
    return upload_dir() / document.storage_name


def current_documents(enrollment: Enrollment) -> dict[str, EnrollmentDocument]:
    """Return the enrollment's current document of each kind, by kind."""
    rows = db.session.scalars(
        select(EnrollmentDocument).where(
            EnrollmentDocument.enrollment_id == enrollment.id,
            EnrollmentDocument.replaced_at.is_(None),
        )
    )
    return {row.kind: row for row in rows}


def replaced_documents(enrollment: Enrollment) -> list[EnrollmentDocument]:
    """Return the enrollment's replaced documents, newest first."""
    return list(
        db.session.scalars(
            select(EnrollmentDocument)
            .where(
                EnrollmentDocument.enrollment_id == enrollment.id,
                EnrollmentDocument.replaced_at.is_not(None),
            )
            .order_by(EnrollmentDocument.replaced_at.desc(), EnrollmentDocument.id.desc())
        )
    )


def store_document(
    enrollment: Enrollment,
    kind: str,
    raw: bytes,
    original_name: str,
    actor: User,
) -> EnrollmentDocument:
    """Check and re-encode an uploaded image and make it the enrollment's current ``kind``.

    Raises ImageRejected with a Chinese message when the upload is not an acceptable image;
    nothing is stored then. The previous document of the kind is kept as replaced history.
    """
    if kind not in DocumentKind.REQUIRED:
        raise ImageRejected("未知的资料类型，请刷新页面后重新上传。")
    image = process_upload(
        raw,
        kind,
        max_side=current_app.config["UPLOAD_MAX_SIDE"],
        jpeg_quality=current_app.config["UPLOAD_JPEG_QUALITY"],
    )
    storage_name = _write_file(image)
    _unlink_on_rollback(storage_name)

    moment = now()
    db.session.execute(
        update(EnrollmentDocument)
        .where(
            EnrollmentDocument.enrollment_id == enrollment.id,
            EnrollmentDocument.kind == kind,
            EnrollmentDocument.replaced_at.is_(None),
        )
        .values(replaced_at=moment)
    )
    document = EnrollmentDocument(
        enrollment_id=enrollment.id,
        kind=kind,
        token=secrets.token_urlsafe(24),
        storage_name=storage_name,
        content_type=image.content_type,
        byte_size=len(image.data),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(image.data).hexdigest(),
        original_name=_clean_name(original_name),
        original_size=len(raw),
        warnings="\n".join(image.warnings),
        uploaded_by_id=actor.id,
        uploaded_at=moment,
    )
    db.session.add(document)
    try:
        db.session.commit()
    except IntegrityError:
        # Another upload of the same kind committed between our UPDATE and INSERT.
        db.session.rollback()
        raise ImageRejected("同一份资料正在另一处同时上传，请刷新页面查看后再试。") from None
    log.info(
        "document %s (%s) stored for enrollment %s by user %s: %d -> %d bytes",
        document.id,
        kind,
        enrollment.id,
        actor.id,
        len(raw),
        len(image.data),
    )
    return document


def purge_replaced_documents(enrollment_ids: list[int]) -> int:
    """Delete the replaced history of these enrollments; their files go when this commits.

    Called when enrollments are approved: the history only serves the review.
    """
    if not enrollment_ids:
        return 0
    rows = list(
        db.session.scalars(
            select(EnrollmentDocument).where(
                EnrollmentDocument.enrollment_id.in_(enrollment_ids),
                EnrollmentDocument.replaced_at.is_not(None),
            )
        )
    )
    for row in rows:
        _unlink_on_commit(row.storage_name)
        db.session.delete(row)
    return len(rows)


def delete_all_documents(enrollment: Enrollment) -> None:
    """Delete every document of an enrollment that is itself being deleted."""
    rows = db.session.scalars(
        select(EnrollmentDocument).where(EnrollmentDocument.enrollment_id == enrollment.id)
    )
    for row in rows:
        _unlink_on_commit(row.storage_name)
        db.session.delete(row)


def remove_orphan_files(min_age: timedelta = timedelta(hours=1)) -> int:
    """Delete files under UPLOAD_DIR that no document row names; return how many.

    A process that dies between writing a file and committing its row, or before unlinking
    a deleted row's file, leaves such files. Only files older than ``min_age`` are touched,
    so an upload whose transaction is still open keeps its file.
    """
    root = upload_dir()
    if not root.is_dir():
        return 0
    known = set(db.session.scalars(select(EnrollmentDocument.storage_name)))
    cutoff = time.time() - min_age.total_seconds()
    removed = 0
    for path in root.rglob("*"):
        if not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        if path.relative_to(root).as_posix() in known:
            continue
        path.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("removed %d orphan document file(s) from %s", removed, root)
    return removed


# --- Files ---------------------------------------------------------------------------------


def _write_file(image: StoredImage) -> str:
    # Two random hex characters as a subdirectory keep any one directory small.
    name = secrets.token_hex(16)
    storage_name = f"{name[:2]}/{name}.{image.extension}"
    path = upload_dir() / storage_name
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(image.data)
    os.replace(temporary, path)
    return storage_name


def _clean_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    return "".join(char for char in name if char.isprintable())[:255]


def _unlink_on_commit(storage_name: str) -> None:
    db.session.info.setdefault(_UNLINK_ON_COMMIT, []).append(
        (current_app.config["UPLOAD_DIR"], storage_name)
    )


def _unlink_on_rollback(storage_name: str) -> None:
    db.session.info.setdefault(_UNLINK_ON_ROLLBACK, []).append(
        (current_app.config["UPLOAD_DIR"], storage_name)
    )


def _unlink(entries: list[tuple[str, str]]) -> None:
    for directory, storage_name in entries:
        try:
            (Path(directory) / storage_name).unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove document file %s", storage_name)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_UNLINK_ON_ROLLBACK, None)
    _unlink(session.info.pop(_UNLINK_ON_COMMIT, []))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    # Only the outermost rollback ends the unit of work the files belong to.
    if session.in_transaction():
        return
    session.info.pop(_UNLINK_ON_COMMIT, None)
    _unlink(session.info.pop(_UNLINK_ON_ROLLBACK, []))
