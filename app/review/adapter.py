"""The enrollment as the subject of a review process instance."""

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, EnrollmentTransition, now
from workflows.subjects import register_subject


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

    def apply_status(self, enrollment, status, actor, step, reason) -> None:
        if status not in EnrollmentStatus.LABELS:
            raise ValueError(f"diagram declares unknown enrollment status {status!r}")
        if status == enrollment.status and not reason:
            return
        previous = enrollment.status
        enrollment.status = status
        if status == EnrollmentStatus.REJECTED:
            enrollment.reject_reason = reason
            enrollment.decided_at = now()
        elif status == EnrollmentStatus.APPROVED:
            enrollment.reject_reason = None
            enrollment.decided_at = now()
        elif status == EnrollmentStatus.PENDING_REVIEW:
            enrollment.submitted_at = now()
        db.session.add(
            EnrollmentTransition(
                enrollment=enrollment,
                actor_id=actor.id if actor is not None else None,
                from_status=previous,
                to_status=status,
                step=step,
                reason=reason,
            )
        )


register_subject("enrollment", EnrollmentAdapter())
