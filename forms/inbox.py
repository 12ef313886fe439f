"""Forms of the task inbox (待办任务): filters, claim and release, reassign, comments and
bulk approve."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

COMMENT_MAX_LENGTH = 1000


class ChineseDateField(DateField):
    """A date field (YYYY-MM-DD) whose parse error is in Chinese."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("日期无效，请按 年-月-日 填写，例如 2026-03-01。") from None


def _max_length(label: str, maximum: int) -> Length:
    return Length(max=maximum, message=f"{label}不能超过 {maximum} 个字符。")


class InboxFilterForm(FlaskForm):
    """Query-string filters of the task list; a GET form carries no CSRF token."""

    class Meta:
        csrf = False

    title = StringField("任务名称", validators=[Optional(), _max_length("任务名称", 100)])
    name = StringField("报名人姓名", validators=[Optional(), _max_length("报名人姓名", 50)])
    id_number = StringField("证件号", validators=[Optional(), _max_length("证件号", 32)])
    unit = StringField("单位名称", validators=[Optional(), _max_length("单位名称", 200)])
    created_from = ChineseDateField("创建时间从", validators=[Optional()])
    created_to = ChineseDateField("创建时间至", validators=[Optional()])


class TaskActionForm(FlaskForm):
    """The CSRF token of the 认领 and 释放 buttons."""

    submit = SubmitField("确定")


class ReassignForm(FlaskForm):
    # Any user id is accepted here: workflows.runtime.reassign_task decides who may take it.
    assignee = SelectField(
        "转办给",
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(message="请选择要转办的同事。")],
    )
    submit = SubmitField("转办")


class CommentForm(FlaskForm):
    body = TextAreaField(
        "审核意见",
        validators=[
            DataRequired(message="请输入意见内容。"),
            _max_length("意见", COMMENT_MAX_LENGTH),
        ],
    )
    submit = SubmitField("发表意见")


class BulkApproveForm(FlaskForm):
    """The CSRF token of 批量通过; the ticked task ids arrive as repeated ``ids`` fields."""

    submit = SubmitField("批量通过")
