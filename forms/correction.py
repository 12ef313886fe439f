"""The unit admin's form for a rejected enrollment (user task form ``enrollment_correction``).

Resubmitting also saves the corrected contact and training data, in the same transaction
as the task completion: the route calls ``apply_to`` and then ``complete_task``, which
commits both or rolls both back.
"""

from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

from app.extensions import db
from app.models import CatalogKind, Enrollment, EnrollmentStatus, active_names

RESUBMIT = "resubmit"
WITHDRAW = "withdraw"
NOTE_MAX_LENGTH = 500
YES, NO = "是", "否"


class EnrollmentCorrectionForm(FlaskForm):
    template = "inbox/forms/enrollment_correction.html"

    action = RadioField(
        "处理方式",
        choices=[(RESUBMIT, "修改后重新提交"), (WITHDRAW, "撤回报名")],
        validate_choice=False,  # AnyOf below reports an invalid choice in Chinese
        validators=[
            DataRequired(message="请选择处理方式：重新提交或撤回报名。"),
            AnyOf(
                [RESUBMIT, WITHDRAW], message="处理方式只能是“重新提交”或“撤回报名”，请重新选择。"
            ),
        ],
    )
    phone = StringField("手机号码", validators=[Length(max=30, message="手机号码过长")])
    education = SelectField("最高学历", validate_choice=False)
    degree = StringField("学历", validators=[Length(max=32, message="学历不能超过 32 个字")])
    training_type = SelectField("培训类型", validate_choice=False)
    training_project = SelectField("培训项目", validate_choice=False)
    holds_certificate = RadioField(
        "是否持有特种设备安全管理证书", choices=[(YES, YES), (NO, NO)], validate_choice=False
    )
    note = TextAreaField(
        "说明",
        validators=[
            Length(
                max=NOTE_MAX_LENGTH,
                message=f"说明不能超过 {NOTE_MAX_LENGTH} 字，请精简后再提交。",
            )
        ],
    )
    submit = SubmitField("确定")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.education.choices = _choices(CatalogKind.EDUCATION)
        self.training_type.choices = _choices(CatalogKind.TRAINING_TYPE)
        self.training_project.choices = _choices(CatalogKind.TRAINING_PROJECT)

    # --- Filling and checking ---------------------------------------------------------------

    def prefill(self, enrollment: Enrollment) -> None:
        """Show the enrollment's current data in the editable fields (GET)."""
        trainee = enrollment.trainee
        self.phone.data = trainee.phone
        self.education.data = trainee.education
        self.degree.data = trainee.degree
        self.training_type.data = enrollment.training_type
        self.training_project.data = enrollment.training_project
        self.holds_certificate.data = YES if enrollment.holds_certificate else NO

    def validate_phone(self, field):
        if not self._checks(field):
            return
        from app.importing.identifiers import FieldError, normalize_mobile

        try:
            field.data = normalize_mobile(field.data or "")
        except FieldError as error:
            raise ValidationError(error.message) from None

    def validate_education(self, field):
        self._check_listed(field, CatalogKind.EDUCATION)

    def validate_training_type(self, field):
        self._check_listed(field, CatalogKind.TRAINING_TYPE)

    def validate_training_project(self, field):
        self._check_listed(field, CatalogKind.TRAINING_PROJECT)

    def validate_holds_certificate(self, field):
        if self._checks(field) and field.data not in (YES, NO):
            raise ValidationError("请选择是否持有特种设备安全管理证书：是或否。")

    def _checks(self, field) -> bool:
        """Check a data field only when resubmitting and only when it was posted.

        A field missing from the request (raw_data is empty) keeps the stored value.
        """
        return self.action.data == RESUBMIT and bool(field.raw_data)

    def _check_listed(self, field, kind: str) -> None:
        if not self._checks(field):
            return
        if field.data not in active_names(kind):
            raise ValidationError(f"{field.label.text}“{field.data}”不在目录中，请从列表中选择。")

    # --- Applying ---------------------------------------------------------------------------

    def apply_to(self, enrollment: Enrollment) -> list[str]:
        """Write the corrected fields when resubmitting; return the labels that changed.

        Raises ValidationError (on the 培训项目 field) when the trainee already has another
        live enrollment in the chosen project.
        """
        if self.action.data != RESUBMIT:
            return []
        project_posted = bool(self.training_project.raw_data)
        if project_posted and self.training_project.data != enrollment.training_project:
            self._check_no_duplicate(enrollment)
        trainee = enrollment.trainee
        updates = [
            (trainee, "phone", self.phone, self.phone.data),
            (trainee, "education", self.education, self.education.data),
            (trainee, "degree", self.degree, (self.degree.data or "").strip()),
            (enrollment, "training_type", self.training_type, self.training_type.data),
            (enrollment, "training_project", self.training_project, self.training_project.data),
            (
                enrollment,
                "holds_certificate",
                self.holds_certificate,
                self.holds_certificate.data == YES,
            ),
        ]
        changed = []
        for record, attribute, field, value in updates:
            if field.raw_data and getattr(record, attribute) != value:
                setattr(record, attribute, value)
                changed.append(field.label.text)
        self._check_complete(enrollment)
        return changed

    def _check_complete(self, enrollment: Enrollment) -> None:
        """Refuse to resubmit an enrollment whose four steps are not all complete."""
        from app.review.service import documents_by_enrollment, incomplete_reason

        documents = documents_by_enrollment([enrollment.id]).get(enrollment.id, set())
        reason = incomplete_reason(enrollment, documents)
        if reason:
            message = f"{reason}。请先在报名管理中点击【完善资料】补齐后再重新提交。"
            self.action.errors = [*self.action.errors, message]
            raise ValidationError(message)

    def _check_no_duplicate(self, enrollment: Enrollment) -> None:
        others = db.session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(
                Enrollment.unit_id == enrollment.unit_id,
                Enrollment.trainee_id == enrollment.trainee_id,
                Enrollment.training_project == self.training_project.data,
                Enrollment.status != EnrollmentStatus.WITHDRAWN,
                Enrollment.id != enrollment.id,
            )
        )
        if others:
            message = (
                f"该学员已有“{self.training_project.data}”的报名，不能重复报名，请选择其他项目。"
            )
            self.training_project.errors = [*self.training_project.errors, message]
            raise ValidationError(message)

    def to_task_data(self) -> dict:
        """Return ``{"action": "resubmit" | "withdraw", "note": str}``."""
        return {"action": self.action.data, "note": (self.note.data or "").strip()}

    def outcome_label(self) -> str:
        if self.action.data == RESUBMIT:
            return "已重新提交，等待协会审核"
        return "已撤回报名"


def _choices(kind: str) -> list[tuple[str, str]]:
    return [(name, name) for name in active_names(kind)]
