"""Forms of 批量导入报名: the upload with its 管理岗位, and the confirm and cancel buttons."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from app.models import CatalogKind, active_names


class UploadForm(FlaskForm):
    """Upload a filled template and choose the 管理岗位 for every row of it."""

    # The choice is checked in validate_position, whose message is Chinese; WTForms' own
    # choice check would return "Not a valid choice.".
    position = SelectField(
        "管理岗位", validators=[DataRequired(message="请选择管理岗位")], validate_choice=False
    )
    workbook = FileField(
        "报名文件（.xlsx）", validators=[FileRequired(message="请选择要上传的 Excel 文件")]
    )
    submit = SubmitField("上传并校验")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        positions = active_names(CatalogKind.POSITION)
        self.position.choices = [("", "请选择管理岗位")] + [(name, name) for name in positions]
        self._positions = frozenset(positions)

    def validate_position(self, field: SelectField) -> None:
        if field.data not in self._positions:
            raise ValidationError("管理岗位无效，请重新选择")


class ConfirmForm(FlaskForm):
    """确定: import the valid rows of a previewed file."""

    submit = SubmitField("确定")


class CancelForm(FlaskForm):
    """取消: drop a previewed file without importing it."""

    submit = SubmitField("取消")
