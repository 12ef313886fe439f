"""Benchmark of the enrollment import: the real validate-and-store path against openpyxl.

    .venv/bin/python -m bench.import_bench [--rows 10000] [--database-url URL]

It writes a workbook with the shared generator and times two steps. Step (a) is openpyxl
read-only reading every cell. Step (b) is ``import_workbook`` validating and storing the
rows into a fresh database: a SQLite file by default, or a scratch PostgreSQL database that
is created beside the given URL and dropped afterwards.
The target is (b) / (a) <= 1.5. tracemalloc slows Python down several times, so peak memory
is measured in a second, untimed import into another fresh database: the tracemalloc peak of
Python allocations (calamine's own Rust buffers are not counted there).
"""

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from bench.databases import scratch_database

GENERATOR = Path(__file__).resolve().parents[2] / "shared" / "tools" / "make_enrollment_workbook.py"
TARGET_RATIO = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description="Time the enrollment import against openpyxl.")
    parser.add_argument("--rows", type=int, default=10000, help="data rows in the workbook")
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql://... for PostgreSQL (a scratch database is made beside it); "
        "default: a SQLite file in a temporary folder",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        workbook = Path(folder) / "enrollments.xlsx"
        subprocess.run(
            [sys.executable, str(GENERATOR), "--rows", str(args.rows), "--out", str(workbook)],
            check=True,
        )
        read_seconds, cells = time_openpyxl_read(workbook)
        with scratch_database(args.database_url, Path(folder) / "timed") as url:
            store_seconds, imported = run_import(workbook, url, args.rows, trace=False)
        with scratch_database(args.database_url, Path(folder) / "traced") as url:
            peak_bytes, _imported = run_import(workbook, url, args.rows, trace=True)

    ratio = store_seconds / read_seconds
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"rows: {args.rows}  database: {database}")
    print(f"(a) openpyxl read-only, every cell ({cells} cells): {read_seconds:.3f} s")
    print(f"(b) validate + store via import_workbook ({imported} imported): {store_seconds:.3f} s")
    print(f"ratio (b)/(a): {ratio:.2f}  (target <= {TARGET_RATIO})")
    print(f"peak memory of (b), tracemalloc peak in a separate run: {peak_bytes / 2**20:.1f} MiB")
    return 0 if ratio <= TARGET_RATIO else 1


def time_openpyxl_read(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    workbook = load_workbook(path, read_only=True)
    cells = 0
    for row in workbook.worksheets[0].iter_rows(values_only=True):
        for _value in row:
            cells += 1
    workbook.close()
    return time.perf_counter() - started, cells


def run_import(path: Path, database_url: str, max_rows: int, trace: bool) -> tuple[float, int]:
    """Import the workbook into a fresh database; return (seconds or peak bytes, imported)."""
    from app import create_app
    from app.config import Config
    from app.extensions import db
    from app.importing.service import import_workbook
    from app.importing.store import StoreRequest
    from app.models import Enrollment, Unit
    from app.seed import load_demo

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.create_all()
        load_demo()
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
        request = StoreRequest(
            unit_id=unit_id,
            position="安全员",
            organization=app.config["TRAINING_ORGANIZATION"],
            actor_id=None,
            file_name=path.name,
        )
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        outcome = import_workbook(path, request, max_rows=max(max_rows, 1))
        measure = time.perf_counter() - started
        if trace:
            measure = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        stored = db.session.scalar(select(func.count(Enrollment.id)))
        assert stored == outcome.imported, (stored, outcome.imported)
        db.session.remove()
        db.engine.dispose()
    return measure, outcome.imported


if __name__ == "__main__":
    sys.exit(main())
