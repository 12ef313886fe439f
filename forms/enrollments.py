"""Forms of 报名管理: the search filters and the CSRF-protected row and selection actions."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app.models import CatalogKind, EnrollmentStatus, active_names

ANY = ("", "全部")


class EnrollmentFilterForm(FlaskForm):
    """The search fields above the list, read from the query string."""

    # A GET search changes nothing and its links must stay shareable, so no CSRF token.
    class Meta:
        csrf = False

    batch = StringField("导入批次", validators=[Optional(), Length(max=16)])
    name = StringField("学生姓名", validators=[Optional(), Length(max=50)])
    id_number = StringField("证件号", validators=[Optional(), Length(max=32)])
    position = SelectField("管理岗位", validators=[Optional()])
    training_type = SelectField("培训类型", validators=[Optional()])
    training_project = SelectField("培训项目", validators=[Optional()])
    status = SelectField("报名状态", validators=[Optional()])
    unit = SelectField("单位", validators=[Optional()])

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.position.choices = _catalog_choices(CatalogKind.POSITION)
        self.training_type.choices = _catalog_choices(CatalogKind.TRAINING_TYPE)
        self.training_project.choices = _catalog_choices(CatalogKind.TRAINING_PROJECT)
        self.status.choices = [ANY, *EnrollmentStatus.LABELS.items()]
        self.unit.choices = [ANY, *((str(unit.id), unit.name) for unit in units)]


class ActionForm(FlaskForm):
    """A button that posts only its CSRF token (删除, 提交 of one row)."""


class SelectionForm(FlaskForm):
    """The rows ticked in the list, posted by the toolbar's 提交 button."""

    ids = SelectMultipleField("选中的报名", coerce=int, validate_choice=False)

    def validate_ids(self, field):
        # Ids beyond a 32-bit INTEGER column would make the database raise, not match nothing.
        if any(not 0 < value < 2**31 for value in field.data or []):
            raise ValidationError("选中的报名编号无效")


def _catalog_choices(kind: str) -> list[tuple[str, str]]:
    return [ANY, *((name, name) for name in active_names(kind))]
