"""Validate and store a workbook in one transaction, retrying when another import races it."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError, OperationalError

from app.extensions import db
from app.importing.catalog import load_catalog, require_position
from app.importing.report import ImportReport
from app.importing.store import StoreRequest, store_report
from app.importing.validation import validate_workbook
from app.models import ImportBatch

log = logging.getLogger(__name__)

# A race with another import shows as a unique violation or a lock error; a new attempt
# revalidates the file, so rows that the other import stored meanwhile become duplicates.
IMPORT_ATTEMPTS = 5
# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


@dataclass
class ImportOutcome:
    report: ImportReport
    batch: ImportBatch | None

    @property
    def imported(self) -> int:
        return self.batch.imported_count if self.batch else 0


def import_workbook(
    path: Path,
    request: StoreRequest,
    *,
    max_rows: int,
    progress: Callable[[int, int], None] | None = None,
    before_commit: Callable[[ImportOutcome], None] | None = None,
) -> ImportOutcome:
    """Revalidate the workbook against the database and store its valid rows, then commit.

    ``before_commit`` runs inside the transaction (an import job records its batch there).
    On any error everything is rolled back and the error propagates.
    """
    catalog = load_catalog()
    require_position(catalog, request.position)
    for attempt in range(1, IMPORT_ATTEMPTS + 1):
        try:
            report = validate_workbook(
                path,
                request.unit_id,
                max_rows=max_rows,
                file_name=request.file_name,
                catalog=catalog,
                progress=progress,
            )
            outcome = ImportOutcome(report=report, batch=store_report(report, request))
            if before_commit:
                before_commit(outcome)
            db.session.commit()
            return outcome
        except (IntegrityError, OperationalError) as error:
            db.session.rollback()
            if attempt == IMPORT_ATTEMPTS or not _is_race(error):
                raise
            log.warning(
                "import for unit %s raced another one (attempt %d): %s",
                request.unit_id,
                attempt,
                type(error.orig).__name__,
            )
        except Exception:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def _is_race(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    # SQLite reports a writer that lost the race as "database is locked".
    return "locked" in str(getattr(error, "orig", error)).lower()
