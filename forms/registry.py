"""User task forms by the key that a BPMN user task names in its ``form`` property.

The task page finds a task's form only through its ``HumanTask.form_key`` and this registry.
So a process owner who adds a user task with one of these keys to a lane mapped to a group
gets a working page without a code change. The diagram loader rejects unknown keys.

Each form class is a Flask-WTF form with:
- ``template``: the Jinja template that renders it inside the task page;
- ``to_task_data() -> dict``: the data the workflow reads after the task completes;
- ``outcome_label() -> str``: what completing it did, in Chinese, for the success message.
"""

from typing import Protocol

from flask_wtf import FlaskForm

from forms.correction import EnrollmentCorrectionForm
from forms.review import EnrollmentReviewForm


class UserTaskForm(Protocol):
    template: str

    def to_task_data(self) -> dict: ...

    def outcome_label(self) -> str: ...


FORMS: dict[str, type[FlaskForm]] = {
    "enrollment_review": EnrollmentReviewForm,
    "enrollment_correction": EnrollmentCorrectionForm,
}


class UnknownFormKey(LookupError):
    """A task names a form key that no form class is registered under."""

    def __init__(self, form_key: str):
        super().__init__(f"no user task form is registered under the key {form_key!r}")
        self.form_key = form_key
        self.message = f"该任务使用的表单“{form_key}”未在系统中登记，无法办理，请联系流程管理员。"


def get_form_class(form_key: str) -> type[FlaskForm]:
    """Return the form class registered under a key, or raise UnknownFormKey."""
    try:
        return FORMS[form_key]
    except KeyError:
        raise UnknownFormKey(form_key) from None


def get_form(form_key: str, **kwargs) -> UserTaskForm:
    """Build the form registered under a key; kwargs go to the form (e.g. ``formdata``)."""
    return get_form_class(form_key)(**kwargs)
