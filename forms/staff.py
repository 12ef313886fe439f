"""Forms of the association staff's administration pages: units, accounts and the catalog."""

from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.accounts.service import MIN_PASSWORD_LENGTH


class SearchForm(FlaskForm):
    """The keyword box above a staff list, read from the query string."""

    # A GET search changes nothing, so it carries no CSRF token.
    class Meta:
        csrf = False

    q = StringField("单位名称或编码", validators=[Optional(), Length(max=200)])


class ActionForm(FlaskForm):
    """A button that posts only its CSRF token (停用, 启用, 删除)."""


class UnitForm(FlaskForm):
    code = StringField(
        "单位编码",
        validators=[DataRequired(message="请填写单位编码"), Length(max=32)],
        description="2至32位大写字母或数字，用于命令行和对账，例如 XMJD01。",
    )
    name = StringField(
        "单位名称", validators=[DataRequired(message="请填写单位名称"), Length(max=200)]
    )
    credit_code = StringField(
        "统一社会信用代码",
        validators=[DataRequired(message="请填写统一社会信用代码"), Length(max=40)],
        description="18位，见营业执照或登记证书。",
    )
    contact_name = StringField("联系人", validators=[Optional(), Length(max=50)])
    contact_phone = StringField("联系电话", validators=[Optional(), Length(max=20)])
    address = StringField(
        "单位地址",
        validators=[Optional(), Length(max=200)],
        description="报名时作为“单位信息”的默认地址，单位管理员可在报名中修改。",
    )
    submit = SubmitField("保存")


class PasswordForm(FlaskForm):
    password = PasswordField(
        "密码",
        validators=[
            DataRequired(message="请填写密码"),
            Length(min=MIN_PASSWORD_LENGTH, max=128, message=f"密码至少{MIN_PASSWORD_LENGTH}位"),
        ],
    )
    confirm = PasswordField(
        "确认密码",
        validators=[
            DataRequired(message="请再次填写密码"),
            EqualTo("password", message="两次填写的密码不一致"),
        ],
    )
    submit = SubmitField("保存")


class AccountForm(PasswordForm):
    """A new account: log-in name, the person's name and an initial password."""

    username = StringField(
        "账号",
        validators=[DataRequired(message="请填写账号"), Length(max=64)],
        description="3至64位字母、数字、下划线、点或短横线。",
    )
    display_name = StringField(
        "姓名", validators=[DataRequired(message="请填写姓名"), Length(max=100)]
    )
    submit = SubmitField("创建账号")


class GroupsForm(FlaskForm):
    groups = SelectMultipleField(
        "分组",
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(message="请至少选择一个分组")],
    )
    submit = SubmitField("保存")


class StaffAccountForm(AccountForm):
    groups = GroupsForm.groups


class CatalogItemForm(FlaskForm):
    name = StringField("名称", validators=[DataRequired(message="请填写名称"), Length(max=100)])
    # Text, parsed by the catalog service, so that a bad value gets a Chinese message.
    sort_order = StringField(
        "排序",
        validators=[Optional(), Length(max=10)],
        description="0至9999的整数，小的排在前面；不填则排在最后。",
    )
    # Parsed by the catalog service so that the amount never passes through a float.
    fee = StringField(
        "费用（元）",
        validators=[Optional(), Length(max=20)],
        description="只填培训项目的费用，最多两位小数，例如 150 或 0.01。",
    )
    submit = SubmitField("保存")
