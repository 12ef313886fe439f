"""Benchmark of submitting enrollments: starting and storing their review instances.

    .venv/bin/python -m bench.submit_bench [--count 1000] [--database-url URL]

Step (a) is SpiffWorkflow alone: create, step and serialise `count` instances of the review
diagram in memory with its standard serializer. Step (b) is ``submit_enrollments`` for
`count` draft enrollments: start the instances, store them with their human task rows,
status changes and transitions, and commit. Both use a spec parsed beforehand. The target is
rate(b) / rate(a) >= 0.5.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.databases import scratch_database

TARGET_RATIO = 0.5
REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description="Time enrollment submission against Spiff alone.")
    parser.add_argument("--count", type=int, default=1000, help="enrollments to submit")
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql://... for PostgreSQL (a scratch database is made beside it); "
        "default: a SQLite file in a temporary folder",
    )
    args = parser.parse_args()

    spiff_seconds = time_spiff_alone(args.count)
    with (
        tempfile.TemporaryDirectory(prefix="submit-bench-") as folder,
        scratch_database(args.database_url, Path(folder)) as url,
    ):
        submit_seconds = time_submit(url, args.count)

    spiff_rate = args.count / spiff_seconds
    submit_rate = args.count / submit_seconds
    ratio = submit_rate / spiff_rate
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"instances: {args.count}  database: {database}")
    print(f"(a) SpiffWorkflow alone, create + step + serialize_json: {spiff_rate:.0f} instances/s")
    print(f"(b) submit_enrollments, started and stored: {submit_rate:.0f} instances/s")
    print(f"ratio (b)/(a): {ratio:.2f}  (target >= {TARGET_RATIO})")
    return 0 if ratio >= TARGET_RATIO else 1


def time_spiff_alone(count: int) -> float:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str((REPO / "bpmn" / "enrollment_review.bpmn").read_bytes())
    spec = parser.get_spec("enrollment_review")
    subprocess_specs = parser.get_subprocess_specs("enrollment_review")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))

    started = time.perf_counter()
    for number in range(count):
        workflow = BpmnWorkflow(spec, subprocess_specs)
        workflow.data["enrollment_id"] = number
        workflow.do_engine_steps()
        serializer.serialize_json(workflow)
    return time.perf_counter() - started


def time_submit(database_url: str, count: int) -> float:
    from app import create_app
    from app.config import Config
    from app.extensions import db
    from app.models import Enrollment, EnrollmentStatus, Unit, User
    from app.review.service import submit_enrollments
    from app.seed import load_demo
    from workflows.loader import load_process_models
    from workflows.serialization import load_spec

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.create_all()
        load_demo()
        models = load_process_models(REPO / "bpmn")
        load_spec(models[0].id, models[0].spec_json)  # parse outside the timing, as in (a)
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "DEMO"))
        admin = db.session.scalar(select(User).where(User.username == "demo_admin"))
        create_drafts(unit_id, count)
        enrollments = list(db.session.scalars(select(Enrollment).order_by(Enrollment.id)))
        # Load trainees before timing, as the list page does.
        trainees = [enrollment.trainee for enrollment in enrollments]
        assert len(trainees) == count

        started = time.perf_counter()
        result = submit_enrollments(enrollments, admin)
        seconds = time.perf_counter() - started

        pending = db.session.scalar(
            select(func.count()).where(Enrollment.status == EnrollmentStatus.PENDING_REVIEW)
        )
        assert len(result.submitted) == count == pending, (len(result.submitted), pending)
        db.session.remove()
        db.engine.dispose()
    return seconds


def create_drafts(unit_id: int, count: int) -> None:
    from app.extensions import db
    from app.models import DocumentKind, Enrollment, EnrollmentDocument, Trainee, now

    committed_at = now()
    db.session.execute(
        insert(Trainee),
        [
            {
                "unit_id": unit_id,
                "name": f"学员{number}",
                "id_type": "护照",
                "id_number": f"E{number:08d}",
                "gender": "男",
                "phone": "13800000000",
                "education": "大专",
            }
            for number in range(count)
        ],
    )
    trainee_ids = db.session.scalars(select(Trainee.id).order_by(Trainee.id)).all()
    db.session.execute(
        insert(Enrollment),
        [
            {
                "unit_id": unit_id,
                "trainee_id": trainee_id,
                "position": "安全员",
                "training_type": "特种设备使用单位",
                "training_project": "电梯",
                "organization": "厦门市特种设备协会",
                "status": "draft",
                "committed_at": committed_at,
            }
            for trainee_id in trainee_ids
        ],
    )
    # Submission needs complete enrollments: the four document rows (the files themselves
    # are not read when submitting).
    enrollment_ids = db.session.scalars(select(Enrollment.id).order_by(Enrollment.id)).all()
    db.session.execute(
        insert(EnrollmentDocument),
        [
            {
                "enrollment_id": enrollment_id,
                "kind": kind,
                "token": f"bench-{enrollment_id}-{kind}",
                "storage_name": "bench.jpg",
                "content_type": "image/jpeg",
                "byte_size": 1,
                "width": 300,
                "height": 420,
                "sha256": "0" * 64,
                "original_name": "",
                "original_size": 1,
                "warnings": "",
                "uploaded_at": committed_at,
            }
            for enrollment_id in enrollment_ids
            for kind in DocumentKind.REQUIRED
        ],
    )
    db.session.commit()


if __name__ == "__main__":
    sys.exit(main())
