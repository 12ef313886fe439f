"""The staff review form of an enrollment (user task form ``enrollment_review``)."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError


class EnrollmentReviewForm(FlaskForm):
    template = "inbox/forms/enrollment_review.html"

    decision = RadioField(
        "审核结果",
        choices=[("approve", "通过"), ("reject", "不通过")],
        validators=[DataRequired(message="请选择审核结果：通过或不通过")],
    )
    reason = TextAreaField(
        "不通过原因",
        validators=[Length(max=500, message="不通过原因不能超过 500 字")],
    )
    submit = SubmitField("提交审核结果")

    def validate_reason(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError("请填写不通过原因，说明需要单位修改的内容")

    def to_task_data(self) -> dict:
        reason = (self.reason.data or "").strip() if self.decision.data == "reject" else ""
        return {"decision": self.decision.data, "reason": reason}
