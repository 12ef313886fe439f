"""Import jobs: an uploaded workbook validated, previewed, then confirmed into a batch.

Validation and storing run in a background thread with its own app context, so a
10,000-row file does not keep the request waiting. With ``IMPORT_INLINE`` set (in tests)
they run in the request instead.
"""

import json
import logging
import secrets
import threading
import time
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.importing.catalog import load_catalog
from app.importing.error_workbook import write_error_workbook
from app.importing.reader import open_sheet
from app.importing.report import ImportFileError
from app.importing.service import ImportOutcome, import_workbook
from app.importing.store import StoreRequest
from app.importing.validation import NO_DATA_MESSAGE, validate_workbook
from app.models import ImportJob, User

log = logging.getLogger(__name__)


class JobStatus:
    VALIDATING = "validating"
    VALIDATED = "validated"
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED = "failed"
    CANCELLED = "cancelled"

    RUNNING = (VALIDATING, IMPORTING)


# Errors listed on the preview page. The error workbook contains all of them.
PREVIEW_ERRORS = 300
# Uploads and error workbooks older than this are deleted when the next upload arrives.
STALE_FILE_SECONDS = 24 * 3600
UNEXPECTED_ERROR = (
    "处理文件时出现系统错误，没有导入任何数据。请稍后重试；如果问题持续，请联系协会工作人员。"
)


def import_dir() -> Path:
    folder = Path(current_app.config["IMPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def error_workbook_path(job: ImportJob) -> Path:
    return import_dir() / f"{job.id}-errors.xlsx"


def create_job(upload: FileStorage, user: User, position: str) -> ImportJob:
    """Store the upload under a random name, check the file as a whole and create the job.

    Raise ``ImportFileError`` (and keep nothing) when the file cannot be imported at all.
    """
    purge_stale_files()
    stored_path = import_dir() / f"{secrets.token_hex(16)}.upload"
    upload.save(stored_path)
    try:
        max_rows = current_app.config["IMPORT_MAX_ROWS"]
        sheet = open_sheet(stored_path, max_rows=max_rows)
        if sheet.data_rows == 0:
            raise ImportFileError(NO_DATA_MESSAGE)
        if sheet.data_rows > max_rows:
            raise ImportFileError(
                f"文件共有 {sheet.data_rows} 行数据，超过单次导入上限 {max_rows} 行。"
                "请把数据拆分成多个文件分别导入。"
            )
    except Exception:
        stored_path.unlink(missing_ok=True)
        raise
    job = ImportJob(
        id=secrets.token_hex(16),
        unit_id=user.unit_id,
        user_id=user.id,
        position=position,
        file_name=(upload.filename or "upload.xlsx")[:255],
        stored_path=str(stored_path),
        status=JobStatus.VALIDATING,
        total_rows=sheet.data_rows,
    )
    db.session.add(job)
    db.session.commit()
    log.info("import job %s created for unit %s (%d rows)", job.id, job.unit_id, sheet.data_rows)
    return job


def get_job(job_id: str, unit_id: int) -> ImportJob | None:
    """Return the unit's job, or None for an unknown id or another unit's job."""
    return db.session.scalar(
        select(ImportJob).where(ImportJob.id == job_id, ImportJob.unit_id == unit_id)
    )


def start_validation(job: ImportJob) -> None:
    _run(_validate_job, job.id)


def start_import(job: ImportJob) -> bool:
    """Move a validated job to importing and start storing; False if it was not validated.

    The conditional update lets only one of two simultaneous confirmations proceed.
    """
    claimed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == JobStatus.VALIDATED)
        .values(status=JobStatus.IMPORTING, processed_rows=0)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        return False
    _run(_import_job, job.id)
    return True


def cancel_job(job: ImportJob) -> bool:
    """Discard a previewed or failed job's files; False when the job is running or done."""
    if job.status not in (JobStatus.VALIDATED, JobStatus.FAILED):
        return False
    _delete_files(job)
    if job.status == JobStatus.VALIDATED:
        job.status = JobStatus.CANCELLED
    db.session.commit()
    log.info("import job %s cancelled", job.id)
    return True


def job_report(job: ImportJob) -> dict:
    return json.loads(job.report_json) if job.report_json else {}


def _run(target, job_id: str) -> None:
    app = current_app._get_current_object()
    if app.config["IMPORT_INLINE"]:
        target(app, job_id)
        return
    thread = threading.Thread(target=target, args=(app, job_id), name=f"import-{job_id[:8]}")
    thread.daemon = True
    thread.start()


def _validate_job(app: Flask, job_id: str) -> None:
    with _job_context(app, job_id) as job:
        max_rows = app.config["IMPORT_MAX_ROWS"]
        catalog = load_catalog()
        report = validate_workbook(
            Path(job.stored_path),
            job.unit_id,
            max_rows=max_rows,
            file_name=job.file_name,
            catalog=catalog,
            progress=_progress_recorder(job_id),
        )
        if report.error_rows:
            write_error_workbook(report, catalog, max_rows, error_workbook_path(job))
        job.report_json = json.dumps(report.summary(PREVIEW_ERRORS), ensure_ascii=False)
        job.total_rows = len(report.rows)
        job.processed_rows = len(report.rows)
        job.status = JobStatus.VALIDATED
        db.session.commit()
        log.info("import job %s validated: %d ok rows", job_id, len(report.ok_rows))


def _import_job(app: Flask, job_id: str) -> None:
    with _job_context(app, job_id) as job:
        max_rows = app.config["IMPORT_MAX_ROWS"]
        request = StoreRequest(
            unit_id=job.unit_id,
            position=job.position,
            organization=app.config["TRAINING_ORGANIZATION"],
            actor_id=job.user_id,
            file_name=job.file_name,
        )
        if not Path(job.stored_path).exists():
            raise ImportFileError("上传的文件已过期并被删除，没有导入任何数据。请重新上传文件。")

        def record_batch(outcome: ImportOutcome) -> None:
            job.report_json = json.dumps(outcome.report.summary(PREVIEW_ERRORS), ensure_ascii=False)
            job.batch_id = outcome.batch.id if outcome.batch else None
            job.status = JobStatus.IMPORTED
            job.processed_rows = job.total_rows = len(outcome.report.rows)

        outcome = import_workbook(
            Path(job.stored_path),
            request,
            max_rows=max_rows,
            progress=_progress_recorder(job_id),
            before_commit=record_batch,
        )
        if outcome.report.error_rows:
            write_error_workbook(outcome.report, load_catalog(), max_rows, error_workbook_path(job))
        Path(job.stored_path).unlink(missing_ok=True)
        log.info("import job %s stored %d enrollments", job_id, outcome.imported)


class _job_context:
    """App context and session for a job step; records a failure on the job."""

    def __init__(self, app: Flask, job_id: str):
        self.app = app
        self.job_id = job_id
        self.context = app.app_context()

    def __enter__(self) -> ImportJob:
        self.context.push()
        job = db.session.get(ImportJob, self.job_id)
        if job is None:
            self.context.pop()
            raise LookupError(f"import job {self.job_id} not found")
        return job

    def __exit__(self, error_type, error, traceback) -> bool:
        try:
            if error is not None:
                db.session.rollback()
                message = error.message if isinstance(error, ImportFileError) else UNEXPECTED_ERROR
                if not isinstance(error, ImportFileError):
                    log.exception("import job %s failed", self.job_id, exc_info=error)
                else:
                    log.info("import job %s rejected the file", self.job_id)
                _mark_failed(self.job_id, message)
        finally:
            db.session.remove()
            self.context.pop()
        # An inline run re-raises unexpected errors into the request. A thread only logs them.
        inline = self.app.config["IMPORT_INLINE"]
        return error is None or isinstance(error, ImportFileError) or not inline


def _mark_failed(job_id: str, message: str) -> None:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        return
    job.status = JobStatus.FAILED
    job.error_message = message
    db.session.commit()
    Path(job.stored_path).unlink(missing_ok=True)


def _progress_recorder(job_id: str):
    def record(processed: int, total: int) -> None:
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(processed_rows=processed, total_rows=max(total, processed))
        )
        db.session.commit()

    return record


def _delete_files(job: ImportJob) -> None:
    Path(job.stored_path).unlink(missing_ok=True)
    error_workbook_path(job).unlink(missing_ok=True)


def purge_stale_files(max_age_seconds: int = STALE_FILE_SECONDS) -> int:
    """Delete uploads and error workbooks left longer than ``max_age_seconds``."""
    cutoff = time.time() - max_age_seconds
    removed = 0
    for path in import_dir().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d stale import files", removed)
    return removed
