"""The unit admin's form for a rejected enrollment (user task form ``enrollment_correction``)."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

RESUBMIT = "resubmit"
WITHDRAW = "withdraw"
NOTE_MAX_LENGTH = 500


class EnrollmentCorrectionForm(FlaskForm):
    template = "inbox/forms/enrollment_correction.html"

    action = RadioField(
        "处理方式",
        choices=[(RESUBMIT, "重新提交"), (WITHDRAW, "撤回报名")],
        validate_choice=False,  # AnyOf below reports an invalid choice in Chinese
        validators=[
            DataRequired(message="请选择处理方式：重新提交或撤回报名。"),
            AnyOf(
                [RESUBMIT, WITHDRAW], message="处理方式只能是“重新提交”或“撤回报名”，请重新选择。"
            ),
        ],
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

    def to_task_data(self) -> dict:
        """Return ``{"action": "resubmit" | "withdraw", "note": str}``."""
        return {"action": self.action.data, "note": (self.note.data or "").strip()}

    def outcome_label(self) -> str:
        if self.action.data == RESUBMIT:
            return "已重新提交，等待协会审核"
        return "已撤回报名"
