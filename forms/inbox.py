"""Forms of the task inbox (待办任务): filters, claim/release, reassign, comments, bulk approve."""

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class InboxFilterForm(FlaskForm):
    """Query-string filters; GET forms carry no CSRF token."""

    class Meta:
        csrf = False

    tab = HiddenField(default="group")
    title = StringField("任务名称", validators=[Optional(), Length(max=100)])
    name = StringField("报名人", validators=[Optional(), Length(max=50)])
    id_number = StringField("证件号", validators=[Optional(), Length(max=32)])
    unit = StringField("单位名称", validators=[Optional(), Length(max=200)])
    created_from = DateField("创建时间从", validators=[Optional()])
    created_to = DateField("至", validators=[Optional()])


class TaskActionForm(FlaskForm):
    """A CSRF-protected button: 认领, 释放."""

    submit = SubmitField("确定")


class ReassignForm(FlaskForm):
    assignee = SelectField("转办给", coerce=int, validators=[DataRequired(message="请选择同事")])
    submit = SubmitField("转办")


class CommentForm(FlaskForm):
    body = TextAreaField(
        "添加意见",
        validators=[
            DataRequired(message="请输入意见内容"),
            Length(max=1000, message="意见不能超过 1000 字"),
        ],
    )
    submit = SubmitField("发表意见")


class BulkApproveForm(FlaskForm):
    """CSRF for 批量通过; the ticked task ids arrive as repeated ``ids`` fields."""

    submit = SubmitField("批量通过")
