"""The enrollment as the subject of a review process instance."""

from sqlalchemy.orm.attributes import set_committed_value

from app.bulk import update_rows
from app.completion.steps import snapshot_of
from app.documents.storage import purge_replaced_documents
from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, EnrollmentTransition, now
from workflows.subjects import StatusChange, register_subject


class EnrollmentAdapter:
    def load(self, subject_id: int, for_update: bool = False) -> Enrollment:
        return db.session.get(Enrollment, subject_id)

    def title(self, enrollment: Enrollment) -> str:
        return f"{enrollment.trainee.name} {enrollment.training_project}"

    def unit_id(self, enrollment: Enrollment) -> int:
        return enrollment.unit_id

    def initial_data(self, enrollment: Enrollment) -> dict:
        """Task data that gateways of a review diagram may read."""
        return {
            "enrollment_id": enrollment.id,
            "training_type": enrollment.training_type,
            "training_project": enrollment.training_project,
            "position": enrollment.position,
            "holds_certificate": enrollment.holds_certificate,
        }

    def apply_statuses(self, changes: list[StatusChange]) -> None:
        """Write status changes with one UPDATE per column set and one multi-row INSERT.

        A unit admin may submit a thousand enrollments at once, and per-object ORM flushes
        cost several times the database work. The loaded objects are updated in place
        without being marked dirty, so no flush writes them again.
        """
        updates = []
        transitions = []
        for change in changes:
            changed = self._changed_columns(change)
            if changed is None:
                continue
            enrollment = change.subject
            transitions.append(self._transition_row(enrollment, change, changed.pop("at")))
            for column, value in changed.items():
                set_committed_value(enrollment, column, value)
            updates.append({"id": enrollment.id, **changed})
        if not updates:
            return
        update_rows(Enrollment.__table__, updates)
        db.session.connection().execute(EnrollmentTransition.__table__.insert(), transitions)
        approved = [u["id"] for u in updates if u["status"] == EnrollmentStatus.APPROVED]
        if approved:
            # Replaced documents are kept only while the review may still look at them.
            purge_replaced_documents(approved)

    def _changed_columns(self, change: StatusChange) -> dict | None:
        enrollment = change.subject
        if change.status not in EnrollmentStatus.LABELS:
            raise ValueError(f"diagram declares unknown enrollment status {change.status!r}")
        if change.status == enrollment.status and not change.reason:
            return None
        moment = now()
        changed = {"status": change.status, "at": moment}
        if change.status == EnrollmentStatus.REJECTED:
            changed.update(reject_reason=change.reason, decided_at=moment)
        elif change.status == EnrollmentStatus.APPROVED:
            changed.update(reject_reason=None, decided_at=moment)
        elif change.status == EnrollmentStatus.PENDING_REVIEW:
            changed.update(submitted_at=moment, submitted_snapshot=snapshot_of(enrollment))
        return changed

    def _transition_row(self, enrollment, change: StatusChange, moment) -> dict:
        return {
            "enrollment_id": enrollment.id,
            "actor_id": change.actor.id if change.actor is not None else None,
            "at": moment,
            "from_status": enrollment.status,
            "to_status": change.status,
            "step": change.step,
            "reason": change.reason,
        }


register_subject("enrollment", EnrollmentAdapter())
