"""WTForms classes: one module per page, and one form per user task kind.

User task forms register under the key that a BPMN user task names in its ``form``
property (see ``forms.registry``).
"""

from flask_wtf import FlaskForm

# Built-in validator and field messages in Simplified Chinese (WTForms ships a zh catalogue).
FlaskForm.Meta.locales = ("zh",)
