"""The shared fixture workbooks against their answer keys, through validation and the CLI."""

import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.importing import validate_workbook
from app.models import Enrollment, EnrollmentTransition, ImportBatch, Trainee, Unit
from tests.test_import_support import (
    FIXTURE_NAMES,
    answer_key,
    assert_row_matches_key,
    fixture_path,
)

MAX_ROWS = 20000


def demo_unit_id() -> int:
    return db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))


def run_cli(app, *args):
    runner = app.test_cli_runner()
    return runner.invoke(args=["enrollments", "import", *args])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_rows_match_answer_key(app_context, name):
    key = answer_key(name)
    report = validate_workbook(fixture_path(name), demo_unit_id(), max_rows=MAX_ROWS)
    rows = {row["row"]: row for row in report.as_json_rows()}
    assert sorted(rows) == [entry["row"] for entry in key["rows"]]
    for expected in key["rows"]:
        assert_row_matches_key(rows[expected["row"]], expected)
    assert len(report.ok_rows) == key["imported"]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_error_rows_have_one_error(app_context, name):
    key = answer_key(name)
    report = validate_workbook(fixture_path(name), demo_unit_id(), max_rows=MAX_ROWS)
    rows = {row.row: row for row in report.rows}
    for expected in key["rows"]:
        if expected["expect"] == "error":
            assert len(rows[expected["row"]].errors) == 1, rows[expected["row"]].errors


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_normalized_values(app_context, name):
    key = answer_key(name)
    report = validate_workbook(fixture_path(name), demo_unit_id(), max_rows=MAX_ROWS)
    rows = {row.row: row for row in report.rows}
    for number, values in key.get("normalized", {}).items():
        for label, expected in values.items():
            assert rows[int(number)].values[label] == expected, (number, label)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_cli_json_dry_run_matches_key(app, name):
    key = answer_key(name)
    result = run_cli(
        app,
        str(fixture_path(name)),
        "--unit",
        "DEMO",
        "--position",
        "安全员",
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["dry_run"] is True
    assert payload["imported"] == key["imported"]
    rows = {row["row"]: row for row in payload["rows"]}
    for expected in key["rows"]:
        assert_row_matches_key(rows[expected["row"]], expected)
    for number, values in key.get("normalized", {}).items():
        for label, value in values.items():
            assert rows[int(number)]["values"][label] == value
    with app.app_context():
        assert db.session.scalar(select(func.count(Enrollment.id))) == 0
        assert db.session.scalar(select(func.count(ImportBatch.id))) == 0


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_cli_json_import_stores_rows(app, name):
    key = answer_key(name)
    result = run_cli(
        app, str(fixture_path(name)), "--unit", "DEMO", "--position", "安全员", "--json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert "dry_run" not in payload
    assert payload["imported"] == key["imported"]
    rows = {row["row"]: row for row in payload["rows"]}
    for expected in key["rows"]:
        assert_row_matches_key(rows[expected["row"]], expected)
    for row in payload["rows"]:
        assert set(row) == {"row", "status", "errors", "values"}
        for error in row["errors"]:
            assert set(error) == {"column", "kind", "message"}
    with app.app_context():
        assert db.session.scalar(select(func.count(Enrollment.id))) == key["imported"]
        transitions = db.session.scalars(select(EnrollmentTransition)).all()
        assert len(transitions) == key["imported"]
        assert {(t.from_status, t.to_status, t.step) for t in transitions} <= {
            (None, "draft", "批量导入")
        }
        batches = db.session.scalars(select(ImportBatch)).all()
        assert len(batches) == (1 if key["imported"] else 0)


def test_cli_import_of_clean_fixture_creates_people_once(app):
    result = run_cli(app, str(fixture_path("clean")), "--unit", "DEMO", "--position", "安全总监")
    assert result.exit_code == 0, result.output
    assert "Imported 12 enrollments as batch" in result.stdout
    with app.app_context():
        # 12 rows name 8 people: the ones with two projects share one trainee.
        assert db.session.scalar(select(func.count(Trainee.id))) == 8
        positions = set(db.session.scalars(select(Enrollment.position)))
        assert positions == {"安全总监"}
        organizations = set(db.session.scalars(select(Enrollment.organization)))
        assert organizations == {app.config["TRAINING_ORGANIZATION"]}
        statuses = set(db.session.scalars(select(Enrollment.status)))
        assert statuses == {"draft"}


def test_cli_second_import_reports_duplicate_existing(app):
    first = run_cli(app, str(fixture_path("clean")), "--unit", "DEMO", "--position", "安全员")
    assert first.exit_code == 0
    second = run_cli(
        app, str(fixture_path("clean")), "--unit", "DEMO", "--position", "安全员", "--json"
    )
    payload = json.loads(second.stdout)
    assert payload["imported"] == 0
    kinds = {(error["column"], error["kind"]) for row in payload["rows"] for error in row["errors"]}
    assert kinds == {("证件号", "duplicate_existing")}
    assert all(row["status"] == "error" for row in payload["rows"])


def test_cli_table_output(app):
    result = run_cli(
        app, str(fixture_path("messy")), "--unit", "DEMO", "--position", "安全员", "--dry-run"
    )
    assert result.exit_code == 0
    assert "numeric_precision_lost" in result.stdout
    assert "rows: 25, ok: 8, errors: 16, skipped: 1" in result.stdout
    assert "Dry run: 8 rows would be imported" in result.stdout


def test_cli_unknown_unit_fails(app):
    result = run_cli(app, str(fixture_path("clean")), "--unit", "NOPE", "--position", "安全员")
    assert result.exit_code == 1
    assert "unit 'NOPE' not found" in result.output


def test_cli_unknown_position_fails(app):
    result = run_cli(app, str(fixture_path("clean")), "--unit", "DEMO", "--position", "厂长")
    assert result.exit_code == 1
    assert "管理岗位“厂长”不在培训目录中" in result.output


def test_cli_unreadable_file_fails(app, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not a workbook")
    result = run_cli(app, str(broken), "--unit", "DEMO", "--position", "安全员", "--json")
    assert result.exit_code == 1
    assert "文件不是 Excel 工作簿" in result.output
    assert result.stdout == ""
