"""The unit admin's form for a rejected enrollment (user task form ``enrollment_correction``)."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class EnrollmentCorrectionForm(FlaskForm):
    template = "inbox/forms/enrollment_correction.html"

    action = RadioField(
        "处理方式",
        choices=[("resubmit", "已修改，重新提交"), ("withdraw", "撤回报名")],
        validators=[DataRequired(message="请选择重新提交或撤回报名")],
    )
    note = TextAreaField(
        "说明", validators=[Length(max=500, message="说明不能超过 500 字")]
    )
    submit = SubmitField("确定")

    def to_task_data(self) -> dict:
        return {"action": self.action.data, "note": (self.note.data or "").strip()}
