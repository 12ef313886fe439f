"""The four steps that complete an enrollment before submission, and what each still lacks.

An enrollment may be submitted for review only when every step is complete: personal and
unit data filled in, the training chosen, the four documents uploaded and the commitment
ticked. ``missing_items`` is the one place that decides this, for the step bar, for the
submit buttons and for the review submission itself.
"""

import json
from dataclasses import dataclass

from app.models import DocumentKind, Enrollment, EnrollmentStatus, User

PERSONAL, UNIT, TRAINING, DOCUMENTS = 1, 2, 3, 4
STEP_TITLES = {PERSONAL: "个人信息", UNIT: "单位信息", TRAINING: "培训信息", DOCUMENTS: "资料上传"}
COMMITMENT_TEXT = (
    "本人承诺以上所填信息真实无误，如因个人填报信息不实，本人愿承担由此产生的一切后果和相关责任。"
)

# Statuses in which the unit admin and the trainee may still change the enrollment.
EDITABLE_STATUSES = (EnrollmentStatus.DRAFT, EnrollmentStatus.REJECTED)


@dataclass(frozen=True)
class UnitInfo:
    """单位信息 as the enrollment shows and prints it."""

    name: str
    credit_code: str
    address: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class PersonalInfo:
    """个人信息 as the enrollment shows and prints it."""

    name: str
    id_type: str
    id_number: str
    gender: str
    phone: str
    education: str
    degree: str


def unit_info(enrollment: Enrollment) -> UnitInfo:
    """Return the enrollment's unit data; empty enrollment fields fall back to the unit's.

    A submitted or decided enrollment shows the data it was submitted with.
    """
    unit = enrollment.unit
    frozen = submitted_snapshot(enrollment)
    if frozen is not None:
        return UnitInfo(
            name=unit.name,
            credit_code=unit.credit_code,
            address=frozen.get("unit_address", ""),
            contact_name=frozen.get("unit_contact_name", ""),
            contact_phone=frozen.get("unit_contact_phone", ""),
        )
    return UnitInfo(
        name=unit.name,
        credit_code=unit.credit_code,
        address=enrollment.unit_address or unit.address,
        contact_name=enrollment.unit_contact_name or unit.contact_name,
        contact_phone=enrollment.unit_contact_phone or unit.contact_phone,
    )


def personal_info(enrollment: Enrollment) -> PersonalInfo:
    """Return the trainee's data, or the data submitted with a submitted or decided enrollment.

    The trainee record is shared by all the person's enrollments in the unit, so editing
    one 待提交 enrollment must not change what a reviewed one shows.
    """
    trainee = enrollment.trainee
    frozen = submitted_snapshot(enrollment) or {}
    return PersonalInfo(
        name=trainee.name,
        id_type=trainee.id_type,
        id_number=trainee.id_number,
        gender=frozen.get("gender", trainee.gender),
        phone=frozen.get("phone", trainee.phone),
        education=frozen.get("education", trainee.education),
        degree=frozen.get("degree", trainee.degree),
    )


def snapshot_of(enrollment: Enrollment) -> str:
    """Return the JSON snapshot of the personal and unit data submitted for review."""
    trainee = enrollment.trainee
    unit = enrollment.unit
    return json.dumps(
        {
            "gender": trainee.gender,
            "phone": trainee.phone,
            "education": trainee.education,
            "degree": trainee.degree,
            "unit_address": enrollment.unit_address or unit.address,
            "unit_contact_name": enrollment.unit_contact_name or unit.contact_name,
            "unit_contact_phone": enrollment.unit_contact_phone or unit.contact_phone,
        },
        ensure_ascii=False,
    )


def submitted_snapshot(enrollment: Enrollment) -> dict | None:
    """Return the submitted data while the enrollment cannot be edited, else None."""
    if enrollment.status in EDITABLE_STATUSES or not enrollment.submitted_snapshot:
        return None
    try:
        return json.loads(enrollment.submitted_snapshot)
    except ValueError:
        return None


def can_edit(enrollment: Enrollment, user: User) -> bool:
    """Return True when this user may change the enrollment's data and documents now."""
    if enrollment.status not in EDITABLE_STATUSES:
        return False
    if user.is_unit_admin:
        return enrollment.unit_id == user.unit_id
    if user.is_trainee:
        return enrollment.trainee_id == user.trainee_id
    return False


def drafts(enrollment: Enrollment) -> dict[int, dict]:
    """Return the values typed into steps that did not pass their checks, by step."""
    if not enrollment.form_draft:
        return {}
    try:
        stored = json.loads(enrollment.form_draft)
    except ValueError:
        return {}
    return {int(step): values for step, values in stored.items() if isinstance(values, dict)}


def save_draft(enrollment: Enrollment, step: int, values: dict | None) -> None:
    """Keep (or, with None, drop) the typed values of one step."""
    stored = drafts(enrollment)
    if values is None:
        stored.pop(step, None)
    else:
        stored[step] = values
    enrollment.form_draft = json.dumps(stored, ensure_ascii=False) if stored else None


def missing_items(enrollment: Enrollment, documents) -> dict[int, list[str]]:
    """Return, per step, the Chinese names of what is still missing; an empty list is done.

    ``documents`` contains the kinds of the current documents: a set of kinds, or a dict
    from kind to document (see documents.storage).
    """
    trainee = enrollment.trainee
    unit = unit_info(enrollment)
    pending = drafts(enrollment)
    missing: dict[int, list[str]] = {step: [] for step in STEP_TITLES}

    for label, value in (
        ("性别", trainee.gender),
        ("手机号码", trainee.phone),
        ("最高学历", trainee.education),
    ):
        if not value:
            missing[PERSONAL].append(label)
    for label, value in (
        ("单位地址", unit.address),
        ("联系人", unit.contact_name),
        ("联系电话", unit.contact_phone),
    ):
        if not value:
            missing[UNIT].append(label)
    for label, value in (
        ("管理岗位", enrollment.position),
        ("培训类型", enrollment.training_type),
        ("培训项目", enrollment.training_project),
    ):
        if not value:
            missing[TRAINING].append(label)
    for kind in DocumentKind.REQUIRED:
        if kind not in documents:
            missing[DOCUMENTS].append(DocumentKind.SHORT_LABELS[kind])
    if enrollment.committed_at is None:
        missing[DOCUMENTS].append("承诺勾选")

    for step in pending:
        if step in missing and not missing[step]:
            # Typed values that failed their checks are not saved, so the step is not done.
            missing[step].append("未保存的修改")
    return missing


def missing_summary(missing: dict[int, list[str]]) -> str:
    """Return one line such as "单位信息（单位地址）、资料上传（2寸照片、承诺勾选）"."""
    parts = [
        f"{STEP_TITLES[step]}（{'、'.join(items)}）" for step, items in missing.items() if items
    ]
    return "、".join(parts)


def is_complete(missing: dict[int, list[str]]) -> bool:
    return not any(missing.values())


def first_incomplete_step(missing: dict[int, list[str]]) -> int | None:
    return next((step for step, items in sorted(missing.items()) if items), None)
