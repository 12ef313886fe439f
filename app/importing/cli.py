"""``flask enrollments import``: the web import's validation and storing, for staff."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.importing.catalog import load_catalog, require_position
from app.importing.report import ImportFileError, ImportReport
from app.importing.service import import_workbook
from app.importing.store import StoreRequest
from app.importing.validation import validate_workbook
from app.models import Unit

enrollments_cli = AppGroup("enrollments", help="Enrollment data: import workbooks.")


@enrollments_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", required=True, help="Code of the unit (用人单位), e.g. DEMO.")
@click.option("--position", required=True, help="管理岗位 for every row, e.g. 安全员.")
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-row result as JSON.")
def import_command(file: Path, unit_code: str, position: str, dry_run: bool, as_json: bool):
    """Validate FILE (.xlsx) and import its valid rows as one import batch of the unit."""
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise click.ClickException(f"unit {unit_code!r} not found (单位代码不存在)")
    max_rows = current_app.config["IMPORT_MAX_ROWS"]
    try:
        if dry_run:
            report = _validate_only(file, unit.id, position, max_rows)
            imported, batch_number = len(report.ok_rows), None
        else:
            request = StoreRequest(
                unit_id=unit.id,
                position=position,
                organization=current_app.config["TRAINING_ORGANIZATION"],
                actor_id=None,
                file_name=file.name,
            )
            outcome = import_workbook(file, request, max_rows=max_rows)
            report = outcome.report
            imported = outcome.imported
            batch_number = outcome.batch.number if outcome.batch else None
    except ImportFileError as error:
        raise click.ClickException(error.message) from error

    if as_json:
        payload = {"rows": report.as_json_rows(), "imported": imported}
        if dry_run:
            payload["dry_run"] = True
        click.echo(json.dumps(payload, ensure_ascii=False, indent=1))
        return
    _print_table(report)
    if dry_run:
        click.echo(f"Dry run: {imported} rows would be imported (试运行，未保存).")
    elif batch_number:
        click.echo(f"Imported {imported} enrollments as batch {batch_number} (导入批次).")
    else:
        click.echo("Imported 0 enrollments: no valid row (没有可导入的行).")


def _validate_only(file: Path, unit_id: int, position: str, max_rows: int) -> ImportReport:
    catalog = load_catalog()
    require_position(catalog, position)
    return validate_workbook(file, unit_id, max_rows=max_rows, file_name=file.name, catalog=catalog)


def _print_table(report: ImportReport) -> None:
    click.echo(f"{'row':>5}  {'status':<6}  {'column':<16}  {'kind':<24}  message")
    for row in report.rows:
        if not row.errors:
            click.echo(f"{row.row:>5}  {row.status:<6}")
            continue
        for error in row.errors:
            click.echo(
                f"{row.row:>5}  {row.status:<6}  {error.column:<16}  {error.kind:<24}  "
                f"{error.message}"
            )
    click.echo(
        f"rows: {len(report.rows)}, ok: {len(report.ok_rows)}, "
        f"errors: {len(report.error_rows)}, skipped: {report.skipped_count}"
    )
