"""The log-in form (管理员登录)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.models import Role


class LoginForm(FlaskForm):
    role = RadioField(
        "登录角色",
        choices=[(Role.UNIT_ADMIN, "用人单位"), ("association", "协会"), (Role.TRAINEE, "学员")],
        default=Role.UNIT_ADMIN,
        validators=[DataRequired(message="请选择登录角色")],
    )
    # A trainee types their ID number here.
    username = StringField(
        "账号", validators=[DataRequired(message="请输入账号（学员请输入证件号）"), Length(max=64)]
    )
    password = PasswordField(
        "密码", validators=[DataRequired(message="请输入密码"), Length(max=128)]
    )
    submit = SubmitField("登录")
