"""Excel enrollment import: header matching, cell checks, reading, storing, jobs and CLI.

The web upload (``app.imports``) and ``flask enrollments import`` share
``validation.validate_workbook`` and ``service.import_workbook``.
"""

from app.importing.report import CellError, ImportFileError, ImportReport, RowResult, RowStatus
from app.importing.service import ImportOutcome, import_workbook
from app.importing.store import StoreRequest
from app.importing.validation import validate_workbook

__all__ = [
    "CellError",
    "ImportFileError",
    "ImportOutcome",
    "ImportReport",
    "RowResult",
    "RowStatus",
    "StoreRequest",
    "import_workbook",
    "validate_workbook",
]
