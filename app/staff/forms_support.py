"""Show a service's rejection next to the form field it concerns."""

from flask import flash
from flask_wtf import FlaskForm


def show_error(form: FlaskForm, field_name: str, message: str) -> None:
    """Attach a message to a field of the form, or flash it when the form has no such field."""
    field = form._fields.get(field_name)
    if field is None:
        flash(message, "danger")
        return
    # Before validate() runs, WTForms keeps errors as a tuple, so build a new list.
    field.errors = [*field.errors, message]
