"""Subject adapters: how the engine reads and updates the domain record an instance is about.

A process instance is about one subject (an enrollment, later an order). The diagram
declares statuses with a ``subject_status`` property on user tasks (the status while that
task is open) and on end events (the final status); the adapter applies them.
"""

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class StatusChange:
    """A status the diagram declares for a subject, and who caused it at which step."""

    subject: Any
    status: str
    actor: Any
    step: str
    reason: str | None


class SubjectAdapter(Protocol):
    def load(self, subject_id: int, for_update: bool = False): ...

    def title(self, subject) -> str: ...

    def unit_id(self, subject) -> int | None: ...

    def initial_data(self, subject) -> dict: ...

    def apply_statuses(self, changes: list[StatusChange]) -> None:
        """Set each subject's status and record the transition (who, when, from, to, why)."""


_ADAPTERS: dict[str, SubjectAdapter] = {}


def register_subject(subject_type: str, adapter: SubjectAdapter) -> None:
    _ADAPTERS[subject_type] = adapter


def adapter_for(subject_type: str) -> SubjectAdapter:
    if subject_type not in _ADAPTERS:
        # Importing the review package registers the enrollment adapter.
        import app.review.adapter  # noqa: F401
    return _ADAPTERS[subject_type]
