"""Forms of 学员管理, 选择学员报名 and the trainee's own account activation."""

from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from app.models import CatalogKind, active_names

YES, NO = "是", "否"


class TraineeFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    name = StringField("学生姓名", validators=[Optional(), Length(max=50)])
    id_number = StringField("证件号", validators=[Optional(), Length(max=32)])


class EnrollTraineesForm(FlaskForm):
    """The trainees ticked on 选择学员报名 and the project to enroll them in."""

    ids = SelectMultipleField("学员", coerce=int, validate_choice=False)
    training_type = SelectField("培训类型", validate_choice=False)
    training_project = SelectField("培训项目", validate_choice=False)
    position = SelectField("管理岗位", validate_choice=False)
    holds_certificate = RadioField(
        "是否持有特种设备安全管理证书",
        choices=[(YES, YES), (NO, NO)],
        default=NO,
        validate_choice=False,
    )
    submit = SubmitField("确定报名")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field, kind in (
            (self.training_type, CatalogKind.TRAINING_TYPE),
            (self.training_project, CatalogKind.TRAINING_PROJECT),
            (self.position, CatalogKind.POSITION),
        ):
            field.choices = [("", "请选择")] + [(name, name) for name in active_names(kind)]

    def validate_ids(self, field):
        if not field.data:
            raise ValidationError("请至少勾选一名学员。")
        if any(not 0 < value < 2**31 for value in field.data):
            raise ValidationError("选中的学员编号无效，请刷新页面后重新勾选。")

    def validate_training_type(self, field):
        _check_listed(field, CatalogKind.TRAINING_TYPE)

    def validate_training_project(self, field):
        _check_listed(field, CatalogKind.TRAINING_PROJECT)

    def validate_position(self, field):
        _check_listed(field, CatalogKind.POSITION)

    def validate_holds_certificate(self, field):
        if field.data not in (YES, NO):
            raise ValidationError("请选择是否持有特种设备安全管理证书：是或否。")


class IssueCodeForm(FlaskForm):
    """The 生成激活码 button: CSRF token only."""


class ActivationForm(FlaskForm):
    id_number = StringField(
        "证件号", validators=[DataRequired(message="请输入证件号。"), Length(max=32)]
    )
    code = StringField(
        "激活码",
        validators=[DataRequired(message="请输入单位管理员提供的激活码。"), Length(max=20)],
    )
    password = PasswordField(
        "设置密码",
        validators=[DataRequired(message="请设置密码。"), Length(max=128, message="密码过长。")],
    )
    confirm = PasswordField(
        "确认密码",
        validators=[
            DataRequired(message="请再次输入密码。"),
            EqualTo("password", message="两次输入的密码不一致，请重新输入。"),
        ],
    )
    submit = SubmitField("激活账号")


def _check_listed(field, kind: str) -> None:
    if not field.data:
        raise ValidationError(f"请选择{field.label.text}。")
    if field.data not in active_names(kind):
        raise ValidationError(f"{field.label.text}“{field.data}”不在目录中，请从列表中选择。")
