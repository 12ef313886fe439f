"""Results of validating a workbook: one result per data row, and the file-level error."""

from dataclasses import dataclass, field


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``message`` is Chinese and says what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RowStatus:
    OK = "ok"
    SKIP = "skip"  # a blank row
    ERROR = "error"


@dataclass
class CellError:
    column: str  # field label, for example 证件号
    kind: str  # snake_case rule name, for example checksum
    message: str  # Chinese, says how to fix the cell
    value: str = ""  # the cell as the user typed it, for display
    cell: str = ""  # Excel reference such as C12

    def as_dict(self) -> dict:
        return {
            "column": self.column,
            "kind": self.kind,
            "message": self.message,
            "value": self.value,
            "cell": self.cell,
        }


@dataclass
class RowResult:
    row: int  # Excel row number
    status: str
    errors: list[CellError] = field(default_factory=list)
    # Normalised values of the cells that passed their checks, by field label.
    values: dict[str, str] = field(default_factory=dict)
    # The cells as read and their Excel references, by field label; kept for error rows only
    # once validation ends, to build the error workbook.
    raw: dict[str, object] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)

    def add_error(self, error: CellError) -> None:
        self.errors.append(error)
        self.status = RowStatus.ERROR

    def has_error_on(self, column: str) -> bool:
        return any(error.column == column for error in self.errors)


@dataclass
class ImportReport:
    rows: list[RowResult]
    file_name: str = ""

    @property
    def ok_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.status == RowStatus.OK]

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.status == RowStatus.ERROR]

    @property
    def skipped_count(self) -> int:
        return sum(1 for row in self.rows if row.status == RowStatus.SKIP)

    @property
    def error_count(self) -> int:
        return sum(len(row.errors) for row in self.rows)

    def summary(self, max_errors: int) -> dict:
        """Return counts and the first ``max_errors`` errors, as stored on an import job."""
        errors = []
        for row in self.error_rows:
            for error in row.errors:
                if len(errors) == max_errors:
                    break
                errors.append({"row": row.row, **error.as_dict()})
        return {
            "total_rows": len(self.rows),
            "ok_rows": len(self.ok_rows),
            "error_rows": len(self.error_rows),
            "skipped_rows": self.skipped_count,
            "error_count": self.error_count,
            "errors": errors,
        }

    def as_json_rows(self) -> list[dict]:
        """Rows in the form the CLI prints with --json."""
        return [
            {
                "row": row.row,
                "status": row.status,
                "errors": [
                    {"column": e.column, "kind": e.kind, "message": e.message} for e in row.errors
                ],
                "values": dict(row.values) if row.status == RowStatus.OK else {},
            }
            for row in self.rows
        ]
