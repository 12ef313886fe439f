"""Storing the valid rows of a validated workbook as one import batch, in bulk."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, insert, select, text

from app.extensions import db
from app.importing import columns as col
from app.importing.report import ImportReport, RowResult
from app.models import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentTransition,
    ImportBatch,
    Trainee,
    now,
)

log = logging.getLogger(__name__)

IMPORT_STEP = "批量导入"
# Attempts at a free daily sequence number when other imports take the same one meanwhile.


@dataclass(frozen=True)
class StoreRequest:
    unit_id: int
    position: str
    organization: str  # 所属培训机构
    actor_id: int | None  # None when staff import from the command line
    file_name: str = ""


def store_report(report: ImportReport, request: StoreRequest) -> ImportBatch | None:
    """Insert the report's OK rows as one import batch; return None when no row is OK.

    The caller owns the transaction: it commits, or rolls back on any error so that nothing
    partial is left behind.
    """
    rows = report.ok_rows
    if not rows:
        return None
    created_at = now()
    batch = create_batch(request, created_at, row_count=len(report.rows) - report.skipped_count)
    trainee_ids = _trainee_ids(rows, request.unit_id, created_at)
    enrollment_ids = _insert_enrollments(rows, trainee_ids, batch, request, created_at)
    _insert_transitions(enrollment_ids, request.actor_id, created_at)
    batch.imported_count = len(enrollment_ids)
    db.session.flush()
    log.info(
        "import batch %s stored: unit %s, %d enrollments",
        batch.number,
        request.unit_id,
        len(enrollment_ids),
    )
    return batch


def create_batch(request: StoreRequest, created_at: datetime, row_count: int) -> ImportBatch:
    """Insert an import batch numbered by date and the next daily sequence: 20231010001.

    Two imports may pick the same number at the same moment. The unique index then rejects
    the second insert with an IntegrityError, and ``import_workbook`` retries that whole
    import (revalidating it). A savepoint is not used here: with SQLite's Python driver a
    SAVEPOINT outside a transaction commits on release, which would leave a batch behind.
    """
    prefix = created_at.strftime("%Y%m%d")
    batch = ImportBatch(
        number=f"{prefix}{next_daily_sequence(prefix):03d}",
        unit_id=request.unit_id,
        position=request.position,
        file_name=request.file_name[:255],
        row_count=row_count,
        created_by_id=request.actor_id,
        created_at=created_at,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def next_daily_sequence(prefix: str) -> int:
    numbers = db.session.scalars(
        select(ImportBatch.number).where(ImportBatch.number.startswith(prefix, autoescape=True))
    )
    sequences = [
        int(number[len(prefix) :]) for number in numbers if number[len(prefix) :].isdigit()
    ]
    return max(sequences, default=0) + 1


def _trainee_ids(rows: list[RowResult], unit_id: int, created_at: datetime) -> dict:
    """Return trainee ids by (ID type, ID number), inserting the people not stored yet.

    A stored trainee is reused unchanged. Validation has checked that its name matches, and
    a later import does not overwrite its phone, education or other details.
    """
    people = {}
    for row in rows:
        key = (row.values[col.ID_TYPE], row.values[col.ID_NUMBER])
        people.setdefault(key, row.values)
    numbers = sorted({number for _type, number in people})
    ids = _stored_trainee_ids(unit_id, numbers)
    new_people = [
        {
            "unit_id": unit_id,
            "name": values[col.NAME],
            "id_type": values[col.ID_TYPE],
            "id_number": values[col.ID_NUMBER],
            "gender": values[col.GENDER],
            "phone": values[col.PHONE],
            "education": values[col.EDUCATION],
            "degree": values.get(col.DEGREE, ""),
            "created_at": created_at,
        }
        for key, values in people.items()
        if key not in ids
    ]
    if new_people:
        # A plain executemany is far faster on psycopg than INSERT ... RETURNING in pages;
        # the new ids are read back in one query instead.
        bulk_insert(Trainee.__table__, new_people)
        ids = _stored_trainee_ids(unit_id, numbers)
    return ids


def _stored_trainee_ids(unit_id: int, numbers: list[str]) -> dict:
    stored = db.session.execute(
        select(Trainee.id_type, Trainee.id_number, Trainee.id).where(
            Trainee.unit_id == unit_id, Trainee.id_number.in_(numbers)
        )
    )
    return {(id_type, number): trainee_id for id_type, number, trainee_id in stored}


def _insert_enrollments(
    rows: list[RowResult],
    trainee_ids: dict,
    batch: ImportBatch,
    request: StoreRequest,
    created_at: datetime,
) -> list[int]:
    enrollments = [
        {
            "unit_id": request.unit_id,
            "trainee_id": trainee_ids[(row.values[col.ID_TYPE], row.values[col.ID_NUMBER])],
            "batch_id": batch.id,
            "position": request.position,
            "training_type": row.values[col.TRAINING_TYPE],
            "training_project": row.values[col.TRAINING_PROJECT],
            "holds_certificate": row.values[col.HOLDS_CERTIFICATE] == "是",
            "organization": request.organization,
            "status": EnrollmentStatus.DRAFT,
            "created_at": created_at,
        }
        for row in rows
    ]
    bulk_insert(Enrollment.__table__, enrollments)
    return list(
        db.session.scalars(
            select(Enrollment.id).where(Enrollment.batch_id == batch.id).order_by(Enrollment.id)
        )
    )


def _insert_transitions(enrollment_ids: list[int], actor_id: int | None, at: datetime) -> None:
    transitions = [
        {
            "enrollment_id": enrollment_id,
            "actor_id": actor_id,
            "at": at,
            "to_status": EnrollmentStatus.DRAFT,
            "step": IMPORT_STEP,
        }
        for enrollment_id in enrollment_ids
    ]
    bulk_insert(EnrollmentTransition.__table__, transitions)


def bulk_insert(table: Table, rows: list[dict]) -> None:
    """Insert many rows that all name the same columns; Python-side defaults are not applied.

    PostgreSQL gets one INSERT ... SELECT FROM unnest(arrays): psycopg's executemany sends a
    statement per row, which took about twice as long for 10,000 rows. Other databases get a
    plain executemany.
    """
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(table), rows)
        return
    dialect = db.session.get_bind().dialect
    columns = [name for name in rows[0] if any(row[name] is not None for row in rows)]
    arrays = {f"column_{index}": [row[name] for row in rows] for index, name in enumerate(columns)}
    casts = ", ".join(
        f"CAST(:column_{index} AS {table.c[name].type.compile(dialect=dialect)}[])"
        for index, name in enumerate(columns)
    )
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    statement = text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({casts})")
    db.session.execute(statement, arrays)
