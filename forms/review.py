"""The staff review form of an enrollment (user task form ``enrollment_review``)."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

APPROVE = "approve"
REJECT = "reject"
REASON_MAX_LENGTH = 500


class EnrollmentReviewForm(FlaskForm):
    template = "inbox/forms/enrollment_review.html"

    decision = RadioField(
        "审核结果",
        choices=[(APPROVE, "通过"), (REJECT, "不通过")],
        validate_choice=False,  # AnyOf below reports an invalid choice in Chinese
        validators=[
            DataRequired(message="请选择审核结果：通过或不通过。"),
            AnyOf([APPROVE, REJECT], message="审核结果只能是“通过”或“不通过”，请重新选择。"),
        ],
    )
    reason = TextAreaField(
        "不通过原因",
        validators=[
            Length(
                max=REASON_MAX_LENGTH,
                message=f"不通过原因不能超过 {REASON_MAX_LENGTH} 字，请精简后再提交。",
            )
        ],
    )
    submit = SubmitField("提交审核结果")

    def validate_reason(self, field):
        if self.decision.data == REJECT and not (field.data or "").strip():
            raise ValidationError("请填写不通过原因，说明需要单位修改的内容")

    def to_task_data(self) -> dict:
        """Return ``{"decision": "approve" | "reject", "reason": str}``; approval has no reason."""
        reason = (self.reason.data or "").strip() if self.decision.data == REJECT else ""
        return {"decision": self.decision.data, "reason": reason}

    def outcome_label(self) -> str:
        if self.decision.data == APPROVE:
            return "审核通过"
        return "审核不通过，已退回单位修改"
