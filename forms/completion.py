"""Forms of the four-step enrollment completion (个人信息, 单位信息, 培训信息, 资料上传).

Each step form knows how to show stored values (``prefill``) and how to write its checked
values back (``apply_to``). Name and ID number are the trainee's identity and stay fixed:
changing them means withdrawing the enrollment and importing the person again.
"""

import re
import unicodedata

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.completion.steps import personal_info, unit_info
from app.extensions import db
from app.importing.identifiers import FieldError, normalize_mobile
from app.models import CatalogKind, Enrollment, EnrollmentStatus, active_names

YES, NO = "是", "否"
# Longest value kept from a step that failed its checks; every field's own limit is lower.
DRAFT_VALUE_MAX = 300
GENDERS = ("男", "女")
RESIDENT_ID = "身份证"
# A fixed-line number with area code, optionally with an extension: 0592-5123456-801.
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


class StepForm(FlaskForm):
    """Fields common to the data steps: the navigation buttons."""

    previous = SubmitField("上一步")
    save = SubmitField("保存")
    next = SubmitField("下一步")

    def draft_values(self) -> dict:
        """Return the typed values of this step's data fields, for keeping as a draft.

        Each value is cut to DRAFT_VALUE_MAX characters: a draft holds values that failed
        their checks, so its size must not be set by the request.
        """
        skip = {"csrf_token", "previous", "save", "next"}
        return {
            name: field.data[:DRAFT_VALUE_MAX] if isinstance(field.data, str) else field.data
            for name, field in self._fields.items()
            if name not in skip
        }

    def load_draft(self, values: dict) -> None:
        for name, value in values.items():
            if name in self._fields:
                self._fields[name].data = value


class PersonalInfoForm(StepForm):
    gender = RadioField("性别", choices=[(g, g) for g in GENDERS], validate_choice=False)
    phone = StringField(
        "手机号码", validators=[Length(max=30, message="手机号码过长，请填写 11 位手机号码。")]
    )
    education = SelectField("最高学历", validate_choice=False)
    degree = StringField(
        "学历（选填）", validators=[Length(max=32, message="学历不能超过 32 个字")]
    )

    def __init__(self, *args, enrollment: Enrollment, **kwargs):
        super().__init__(*args, **kwargs)
        self.enrollment = enrollment
        self.education.choices = [("", "请选择")] + _choices(CatalogKind.EDUCATION)

    @property
    def gender_fixed(self) -> bool:
        # For a resident ID the 17th digit fixes the gender, and the import checked it.
        return self.enrollment.trainee.id_type == RESIDENT_ID

    def prefill(self) -> None:
        info = personal_info(self.enrollment)
        self.gender.data = info.gender
        self.phone.data = info.phone
        self.education.data = info.education
        self.degree.data = info.degree

    def validate_gender(self, field):
        if self.gender_fixed:
            field.data = self.enrollment.trainee.gender
        elif field.data not in GENDERS:
            raise ValidationError("请选择性别：男或女。")

    def validate_phone(self, field):
        if field.errors:
            return
        try:
            field.data = normalize_mobile(field.data or "")
        except FieldError as error:
            raise ValidationError(error.message) from None

    def validate_education(self, field):
        _check_listed(field, CatalogKind.EDUCATION)

    def apply_to(self, enrollment: Enrollment) -> None:
        trainee = enrollment.trainee
        trainee.gender = self.gender.data
        trainee.phone = self.phone.data
        trainee.education = self.education.data
        trainee.degree = (self.degree.data or "").strip()


class UnitInfoForm(StepForm):
    address = StringField(
        "单位地址",
        validators=[
            DataRequired(message="请填写单位地址。"),
            Length(max=200, message="单位地址不能超过 200 个字。"),
        ],
    )
    contact_name = StringField(
        "联系人",
        validators=[
            DataRequired(message="请填写单位联系人。"),
            Length(max=50, message="联系人不能超过 50 个字。"),
        ],
    )
    contact_phone = StringField(
        "联系电话",
        validators=[
            DataRequired(message="请填写联系电话。"),
            Length(max=20, message="联系电话不能超过 20 个字符。"),
        ],
    )

    def __init__(self, *args, enrollment: Enrollment, **kwargs):
        super().__init__(*args, **kwargs)
        self.enrollment = enrollment

    def prefill(self) -> None:
        info = unit_info(self.enrollment)
        self.address.data = info.address
        self.contact_name.data = info.contact_name
        self.contact_phone.data = info.contact_phone

    def validate_contact_phone(self, field):
        if field.errors:
            return
        # Full-width digits and dashes typed with a Chinese input method count as ASCII.
        value = unicodedata.normalize("NFKC", field.data or "")
        value = re.sub(r"[\s()]", "", value).replace("—", "-").replace("－", "-")
        if LANDLINE.match(value):
            field.data = value
            return
        try:
            field.data = normalize_mobile(value)
        except FieldError:
            raise ValidationError(
                "联系电话应为 11 位手机号码，或带区号的固定电话（如 0592-5123456）。"
            ) from None

    def apply_to(self, enrollment: Enrollment) -> None:
        enrollment.unit_address = self.address.data.strip()
        enrollment.unit_contact_name = self.contact_name.data.strip()
        enrollment.unit_contact_phone = self.contact_phone.data
        # The first enrollment to fill these in gives the unit its defaults for the next ones.
        unit = enrollment.unit
        unit.address = unit.address or enrollment.unit_address
        unit.contact_name = unit.contact_name or enrollment.unit_contact_name
        unit.contact_phone = unit.contact_phone or enrollment.unit_contact_phone


class TrainingInfoForm(StepForm):
    position = SelectField("管理岗位", validate_choice=False)
    training_type = SelectField("培训类型", validate_choice=False)
    training_project = SelectField("培训项目", validate_choice=False)
    holds_certificate = RadioField(
        "是否持有特种设备安全管理证书", choices=[(YES, YES), (NO, NO)], validate_choice=False
    )

    def __init__(self, *args, enrollment: Enrollment, **kwargs):
        super().__init__(*args, **kwargs)
        self.enrollment = enrollment
        self.position.choices = _choices(CatalogKind.POSITION)
        self.training_type.choices = _choices(CatalogKind.TRAINING_TYPE)
        self.training_project.choices = _choices(CatalogKind.TRAINING_PROJECT)

    def prefill(self) -> None:
        enrollment = self.enrollment
        self.position.data = enrollment.position
        self.training_type.data = enrollment.training_type
        self.training_project.data = enrollment.training_project
        self.holds_certificate.data = YES if enrollment.holds_certificate else NO

    def validate_position(self, field):
        _check_listed(field, CatalogKind.POSITION)

    def validate_training_type(self, field):
        _check_listed(field, CatalogKind.TRAINING_TYPE)

    def validate_training_project(self, field):
        _check_listed(field, CatalogKind.TRAINING_PROJECT)
        if field.data != self.enrollment.training_project and _has_live_enrollment(
            self.enrollment, field.data
        ):
            raise ValidationError(
                f"该学员已有“{field.data}”的报名，不能重复报名，请选择其他培训项目。"
            )

    def validate_holds_certificate(self, field):
        if field.data not in (YES, NO):
            raise ValidationError("请选择是否持有特种设备安全管理证书：是或否。")

    def apply_to(self, enrollment: Enrollment) -> None:
        enrollment.position = self.position.data
        enrollment.training_type = self.training_type.data
        enrollment.training_project = self.training_project.data
        enrollment.holds_certificate = self.holds_certificate.data == YES


class DocumentUploadForm(FlaskForm):
    file = FileField(
        "选择图片", validators=[FileRequired(message="请先选择要上传的图片（JPG 或 PNG）。")]
    )
    upload = SubmitField("上传")


class SubmitEnrollmentForm(FlaskForm):
    commitment = BooleanField("本人承诺")
    previous = SubmitField("上一步")
    save = SubmitField("保存")
    submit = SubmitField("提交")


def _choices(kind: str) -> list[tuple[str, str]]:
    return [(name, name) for name in active_names(kind)]


def _check_listed(field, kind: str) -> None:
    label = field.label.text
    if not field.data:
        raise ValidationError(f"请选择{label}。")
    if field.data not in active_names(kind):
        raise ValidationError(f"{label}“{field.data}”不在目录中，请从列表中选择。")


def _has_live_enrollment(enrollment: Enrollment, project: str) -> bool:
    count = db.session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(
            Enrollment.unit_id == enrollment.unit_id,
            Enrollment.trainee_id == enrollment.trainee_id,
            Enrollment.training_project == project,
            Enrollment.status != EnrollmentStatus.WITHDRAWN,
            Enrollment.id != enrollment.id,
        )
    )
    return bool(count)
