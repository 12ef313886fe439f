"""选择学员报名: enrolling a unit's existing trainees in another project without an import.

The duplicate rule of the import applies: a trainee holds at most one live (not withdrawn)
enrollment per project in the unit. The partial unique index on enrollments enforces it
against concurrent requests too.
"""

import logging
from dataclasses import dataclass, field

from flask import abort, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Enrollment, EnrollmentStatus, Trainee, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollRequest:
    training_type: str
    training_project: str
    position: str
    holds_certificate: bool


@dataclass
class EnrollResult:
    created: list[Enrollment] = field(default_factory=list)
    skipped: list[tuple[Trainee, str]] = field(default_factory=list)


def unit_trainees_or_404(unit_id: int, trainee_ids: list[int]) -> list[Trainee]:
    """Return the unit's trainees with these ids; an id of another unit gives 404."""
    wanted = set(trainee_ids)
    found = list(
        db.session.scalars(
            select(Trainee)
            .where(Trainee.unit_id == unit_id, Trainee.id.in_(wanted))
            .order_by(Trainee.id)
        )
    )
    if len(found) != len(wanted):
        abort(404)
    return found


def live_projects(trainee_ids: list[int]) -> dict[int, dict[str, str]]:
    """Return {trainee id: {project: status label}} of the trainees' live enrollments."""
    rows = db.session.execute(
        select(Enrollment.trainee_id, Enrollment.training_project, Enrollment.status).where(
            Enrollment.trainee_id.in_(trainee_ids),
            Enrollment.status != EnrollmentStatus.WITHDRAWN,
        )
    )
    projects: dict[int, dict[str, str]] = {}
    for trainee_id, project, status in rows:
        projects.setdefault(trainee_id, {})[project] = EnrollmentStatus.LABELS.get(status, status)
    return projects


def enroll_trainees(trainees: list[Trainee], request: EnrollRequest, actor: User) -> EnrollResult:
    """Create one 待提交 enrollment per trainee in the chosen project, in one transaction."""
    result = EnrollResult()
    existing = live_projects([t.id for t in trainees])
    for trainee in trainees:
        status = existing.get(trainee.id, {}).get(request.training_project)
        if status is not None:
            result.skipped.append(
                (trainee, f"已有“{request.training_project}”的报名（{status}），不能重复报名")
            )
            continue
        enrollment = Enrollment(
            unit_id=trainee.unit_id,
            trainee=trainee,
            batch_id=None,
            position=request.position,
            training_type=request.training_type,
            training_project=request.training_project,
            holds_certificate=request.holds_certificate,
            organization=current_app.config["TRAINING_ORGANIZATION"],
            status=EnrollmentStatus.DRAFT,
        )
        db.session.add(enrollment)
        result.created.append(enrollment)
    if not result.created:
        return result
    try:
        db.session.commit()
    except IntegrityError:
        # Another request enrolled one of them in this project a moment ago.
        db.session.rollback()
        raise DuplicateEnrollment() from None
    log.info(
        "user %s enrolled %d trainee(s) in %s, %d skipped",
        actor.id,
        len(result.created),
        request.training_project,
        len(result.skipped),
    )
    return result


class DuplicateEnrollment(Exception):
    message = "有学员刚刚在别处报名了同一项目，本次未创建任何报名，请刷新页面后重试。"
