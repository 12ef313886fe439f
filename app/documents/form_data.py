"""Collecting an enrollment's data for the pre-filled application form."""

from datetime import datetime

from app.completion.steps import personal_info, unit_info
from app.documents.application_form import ApplicationFormData
from app.models import Enrollment

# Enrollments added by 选择学员报名 have no import batch; the batch column shows this.
NO_BATCH = "0000000000"


def enrollment_number(enrollment: Enrollment) -> str:
    """Return the enrollment's printed number (报名编号), e.g. BM00000042."""
    return f"BM{enrollment.id:08d}"


def birth_date(id_type: str, id_number: str) -> str:
    """Return the birth date written in an 18-digit resident ID as YYYY-MM-DD, else ""."""
    if id_type != "身份证" or len(id_number) != 18 or not id_number[:14].isdigit():
        return ""
    digits = id_number[6:14]
    try:
        return datetime.strptime(digits, "%Y%m%d").date().isoformat()
    except ValueError:
        return ""


def application_form_data(
    enrollment: Enrollment, organization: str, generated_at: datetime
) -> ApplicationFormData:
    trainee = personal_info(enrollment)
    unit = unit_info(enrollment)
    return ApplicationFormData(
        organization=enrollment.organization or organization,
        enrollment_number=enrollment_number(enrollment),
        batch_number=enrollment.batch.number if enrollment.batch else NO_BATCH,
        trainee_name=trainee.name,
        gender=trainee.gender,
        id_type=trainee.id_type,
        id_number=trainee.id_number,
        birth_date=birth_date(trainee.id_type, trainee.id_number),
        phone=trainee.phone,
        education=trainee.education,
        degree=trainee.degree,
        unit_name=unit.name,
        unit_credit_code=unit.credit_code,
        unit_address=unit.address,
        unit_contact_name=unit.contact_name,
        unit_contact_phone=unit.contact_phone,
        position=enrollment.position,
        training_type=enrollment.training_type,
        training_project=enrollment.training_project,
        holds_certificate=enrollment.holds_certificate,
        generated_at=generated_at,
    )
