"""User task forms by the key that a BPMN user task names in its ``form`` property.

A process owner may put a user task with any of these keys into a lane; the task page
renders the form from this registry alone.
"""

from forms.correction import EnrollmentCorrectionForm
from forms.review import EnrollmentReviewForm

FORMS = {
    "enrollment_review": EnrollmentReviewForm,
    "enrollment_correction": EnrollmentCorrectionForm,
}


def get_form_class(form_key: str):
    """Return the form class for a key; a diagram is checked against FORMS when loaded."""
    try:
        return FORMS[form_key]
    except KeyError:
        raise LookupError(f"no user task form registered under {form_key!r}") from None
