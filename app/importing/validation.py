"""Validation of every row of an enrollment workbook; the web upload and the CLI share it."""

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import and_, select

from app.extensions import db
from app.importing import columns as col
from app.importing.catalog import CatalogSnapshot, load_catalog
from app.importing.identifiers import (
    CONTROL_CHARACTER,
    RESIDENT_ID,
    FieldError,
    check_other_id,
    check_resident_id,
    clean_id_text,
    gender_from_resident_id,
    id_number_from_number,
    normalize_mobile,
    normalize_text,
    shorten,
    strip_format_characters,
)
from app.importing.reader import RawRow, open_sheet
from app.importing.report import CellError, ImportFileError, ImportReport, RowResult, RowStatus
from app.models import Enrollment, EnrollmentStatus, Trainee, now

# Maximum lengths of the database columns that free-text cells go into.
MAX_LENGTHS = {col.NAME: 50, col.DEGREE: 32}
# Maximum length of a cell shown in the preview table and the report. The error workbook
# contains the whole cell.
MAX_SHOWN_VALUE = 200
PROGRESS_EVERY = 500
NO_DATA_MESSAGE = "文件中没有报名数据：表头下方没有填写任何行，请填写后重新上传。"

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ValidationContext:
    catalog: CatalogSnapshot
    today: date
    unit_id: int | None  # None skips the checks against stored trainees and enrollments

    @cached_property
    def options(self) -> dict[str, tuple[str, ...]]:
        return self.catalog.options()

    @cached_property
    def option_keys(self) -> dict[str, dict[str, str]]:
        """Catalog entries of each list column by their width- and space-insensitive key."""
        return {
            label: {_option_key(option): option for option in options}
            for label, options in self.options.items()
        }


def validate_workbook(
    path: Path,
    unit_id: int | None,
    *,
    max_rows: int,
    file_name: str = "",
    catalog: CatalogSnapshot | None = None,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Read and validate every row of a workbook; raise ``ImportFileError`` for the file.

    ``progress(processed_rows, total_rows)`` is called every few hundred rows.
    """
    sheet = open_sheet(Path(path), max_rows=max_rows)
    if sheet.data_rows > max_rows:
        raise ImportFileError(
            f"文件第 {sheet.header_row} 行表头以下共有 {sheet.data_rows} 行，超过单次导入上限 "
            f"{max_rows} 行。请把数据拆分成多个文件分别导入。"
        )
    context = ValidationContext(
        catalog=catalog or load_catalog(), today=today or now().date(), unit_id=unit_id
    )
    results = []
    for raw in sheet.rows():
        results.append(validate_row(raw, context))
        if progress and len(results) % PROGRESS_EVERY == 0:
            progress(len(results), sheet.data_rows)
    _drop_trailing_blank_rows(results)
    if not results:
        raise ImportFileError(NO_DATA_MESSAGE)
    check_duplicates_in_file(results)
    if unit_id is not None:
        check_against_stored(results, unit_id)
    for result in results:
        if result.status != RowStatus.ERROR:
            result.raw = {}
            result.references = {}
    if progress:
        progress(len(results), len(results))
    return ImportReport(rows=results, file_name=file_name)


def _drop_trailing_blank_rows(results: list[RowResult]) -> None:
    # Rows below the last filled one are formatting leftovers, not rows the user wrote.
    while results and results[-1].status == RowStatus.SKIP:
        results.pop()


def validate_row(raw: RawRow, context: ValidationContext) -> RowResult:
    """Check one row's cells on their own, without the database or other rows."""
    raw.cells = {label: _visible_text(value) for label, value in raw.cells.items()}
    if raw.is_blank():
        return RowResult(row=raw.number, status=RowStatus.SKIP)
    result = RowResult(
        row=raw.number, status=RowStatus.OK, raw=dict(raw.cells), references=raw.references
    )
    _RowChecker(raw, result, context).check_all()
    return result


def _visible_text(value: object) -> object:
    return strip_format_characters(value) if isinstance(value, str) else value


class _RowChecker:
    """Fills ``result.values`` with normalised cells and ``result.errors`` with faults."""

    def __init__(self, raw: RawRow, result: RowResult, context: ValidationContext):
        self.raw = raw
        self.result = result
        self.context = context

    def check_all(self) -> None:
        self.check_text(col.NAME, required=True)
        self.check_option(col.ID_TYPE)
        self.check_id_number()
        self.check_option(col.GENDER)
        self.check_phone()
        self.check_option(col.EDUCATION)
        self.check_text(col.DEGREE, required=False)
        self.check_option(col.TRAINING_TYPE)
        self.check_option(col.TRAINING_PROJECT)
        self.check_yes_no()
        self.check_gender_matches_id()

    # --- helpers ---------------------------------------------------------------------------

    def fail(self, label: str, kind: str, message: str) -> None:
        self.result.add_error(
            CellError(
                column=label,
                kind=kind,
                message=message,
                value=shorten(display_value(self.raw.cells.get(label)), MAX_SHOWN_VALUE),
                cell=self.raw.references.get(label, ""),
            )
        )

    def present(self, label: str, required: bool) -> object | None:
        """Return the cell, or None after recording why it cannot be used."""
        if label in self.raw.formulas_without_value:
            reference = self.raw.references[label]
            self.fail(
                label,
                "formula_without_value",
                f"单元格 {reference} 是公式，但文件里没有保存计算结果（文件可能由程序生成，"
                "未在 Excel 中打开保存过）。请在 Excel 中打开并保存文件，或直接填写数值而不用公式。",
            )
            return None
        value = self.raw.cells.get(label)
        if isinstance(value, str):
            value = value if value.strip() else None
        if value is None or value == "":
            if required:
                self.fail(label, "missing", f"“{label}”为必填项，请填写。")
            else:
                self.result.values[label] = ""
            return None
        return value

    # --- fields ----------------------------------------------------------------------------

    def check_text(self, label: str, required: bool) -> None:
        value = self.present(label, required)
        if value is None:
            return
        text = _WHITESPACE.sub(" ", normalize_text(display_value(value)))
        control = CONTROL_CHARACTER.search(text)
        if control:
            self.fail(
                label,
                "control_character",
                f"“{label}”中含有看不见的控制字符（U+{ord(control.group()):04X}），"
                "请清空该单元格后重新输入。",
            )
            return
        limit = MAX_LENGTHS[label]
        if len(text) > limit:
            self.fail(label, "too_long", f"“{label}”最多 {limit} 个字，当前 {len(text)} 个字。")
            return
        self.result.values[label] = text

    def check_option(self, label: str) -> None:
        value = self.present(label, required=True)
        if value is None:
            return
        allowed = self.context.options[label]
        chosen = self.context.option_keys[label].get(_option_key(display_value(value)))
        if chosen is None:
            self.fail(
                label,
                "unknown_option",
                f"“{shorten(display_value(value))}”不是有效的{label}，"
                f"请从下拉列表中选择：{'、'.join(allowed)}。",
            )
            return
        self.result.values[label] = chosen

    def check_yes_no(self) -> None:
        label = col.HOLDS_CERTIFICATE
        value = self.present(label, required=True)
        if value is None:
            return
        chosen = self.context.option_keys[label].get(_option_key(display_value(value)))
        if chosen is None:
            self.fail(
                label,
                "invalid_yes_no",
                f"“{label}”只能填“是”或“否”，当前为“{shorten(display_value(value))}”。",
            )
            return
        self.result.values[label] = chosen

    def check_phone(self) -> None:
        value = self.present(col.PHONE, required=True)
        if value is None:
            return
        try:
            self.result.values[col.PHONE] = normalize_mobile(_plain_scalar(value))
        except FieldError as error:
            self.fail(col.PHONE, error.kind, error.message)

    def check_id_number(self) -> None:
        value = self.present(col.ID_NUMBER, required=True)
        if value is None:
            return
        id_type = self.result.values.get(col.ID_TYPE)
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                number = id_number_from_number(float(value))
            else:
                number = clean_id_text(display_value(value))
            if id_type == RESIDENT_ID:
                number = check_resident_id(number, self.context.today)
            elif id_type is not None:
                number = check_other_id(id_type, number)
        except FieldError as error:
            self.fail(col.ID_NUMBER, error.kind, error.message)
            return
        if id_type is not None:
            self.result.values[col.ID_NUMBER] = number

    def check_gender_matches_id(self) -> None:
        values = self.result.values
        if values.get(col.ID_TYPE) != RESIDENT_ID:
            return
        number = values.get(col.ID_NUMBER)
        gender = values.get(col.GENDER)
        if number is None or gender is None:
            return
        expected = gender_from_resident_id(number)
        if gender != expected:
            self.fail(
                col.GENDER,
                "gender_mismatch",
                f"性别填写为“{gender}”，但身份证号第 17 位表示“{expected}”。请核对性别或证件号。",
            )


def _option_key(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def _plain_scalar(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return display_value(value)


def display_value(value: object) -> str:
    """Render a cell as text for messages: whole floats without .0, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if abs(value) < 1e15 else f"{value:.15g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- checks across rows ------------------------------------------------------------------


def check_duplicates_in_file(results: list[RowResult]) -> None:
    """Flag a later row for the same person and project, or the same ID under another name."""
    first_enrollment: dict[tuple[str, str, str], int] = {}
    first_name: dict[tuple[str, str], tuple[int, str]] = {}
    for result in results:
        person = _person_key(result)
        if person is None:
            continue
        name = result.values.get(col.NAME)
        if name:
            earlier = first_name.setdefault(person, (result.row, name))
            if earlier[1] != name and not result.has_error_on(col.NAME):
                result.add_error(
                    CellError(
                        column=col.NAME,
                        kind="name_mismatch",
                        message=f"与第 {earlier[0]} 行的证件号相同，但姓名不同（第 {earlier[0]} 行为"
                        f"“{earlier[1]}”）。同一证件号只能对应一个人，请核对姓名或证件号。",
                        value=name,
                        cell=result.references.get(col.NAME, ""),
                    )
                )
        project = result.values.get(col.TRAINING_PROJECT)
        if project is None:
            continue
        key = (*person, project)
        if key in first_enrollment:
            earlier_row = first_enrollment[key]
            result.add_error(
                CellError(
                    column=col.ID_NUMBER,
                    kind="duplicate_in_file",
                    message=f"与第 {earlier_row} 行重复：同一学员报名了同一培训项目“{project}”。"
                    "一个项目只需填写一行，请删除重复的行。",
                    value=person[1],
                    cell=result.references.get(col.ID_NUMBER, ""),
                )
            )
        else:
            first_enrollment[key] = result.row


def check_against_stored(results: list[RowResult], unit_id: int) -> None:
    """Flag rows whose person is stored under another name or has a live enrollment already.

    One query reads the unit's matching trainees with their live enrollments.
    """
    keyed = [(result, _person_key(result)) for result in results]
    numbers = sorted({key[1] for _result, key in keyed if key is not None})
    if not numbers:
        return
    stored_names, live_projects = load_stored_people(unit_id, numbers)
    for result, person in keyed:
        if person is None or person not in stored_names:
            continue
        name = result.values.get(col.NAME)
        stored_name = stored_names[person]
        if name is not None and name != stored_name:
            result.add_error(
                CellError(
                    column=col.NAME,
                    kind="name_mismatch",
                    message=f"该证件号已登记为学员“{stored_name}”，与本行姓名“{name}”不一致。"
                    "请核对姓名和证件号；如果登记的姓名有误，请联系协会工作人员更正。",
                    value=name,
                    cell=result.references.get(col.NAME, ""),
                )
            )
        project = result.values.get(col.TRAINING_PROJECT)
        if project is not None and project in live_projects.get(person, ()):
            result.add_error(
                CellError(
                    column=col.ID_NUMBER,
                    kind="duplicate_existing",
                    message=f"该学员已报名培训项目“{project}”且报名未撤回，不能重复报名。"
                    "请删除此行，或在报名管理中查看已有的报名。",
                    value=person[1],
                    cell=result.references.get(col.ID_NUMBER, ""),
                )
            )


def load_stored_people(
    unit_id: int, id_numbers: list[str]
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], set[str]]]:
    """Return stored names and live-enrollment projects by (ID type, ID number)."""
    live = and_(
        Enrollment.trainee_id == Trainee.id,
        Enrollment.status != EnrollmentStatus.WITHDRAWN,
    )
    stmt = (
        select(Trainee.id_type, Trainee.id_number, Trainee.name, Enrollment.training_project)
        .outerjoin(Enrollment, live)
        .where(Trainee.unit_id == unit_id, Trainee.id_number.in_(id_numbers))
    )
    names: dict[tuple[str, str], str] = {}
    projects: dict[tuple[str, str], set[str]] = {}
    for id_type, id_number, name, project in db.session.execute(stmt):
        person = (id_type, id_number)
        names[person] = name
        if project is not None:
            projects.setdefault(person, set()).add(project)
    return names, projects


def _person_key(result: RowResult) -> tuple[str, str] | None:
    """Return (ID type, ID number) when both cells passed their checks."""
    if result.has_error_on(col.ID_TYPE) or result.has_error_on(col.ID_NUMBER):
        return None
    id_type = result.values.get(col.ID_TYPE)
    id_number = result.values.get(col.ID_NUMBER)
    if not id_type or not id_number:
        return None
    return id_type, id_number
