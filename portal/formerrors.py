"""Domain refusals beside the form fields they belong to, so a form shows every problem in one answer."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm


def attach(form: FlaskForm, fields: Mapping[str, object]) -> bool:
    """Add each message to its field's errors (unless the field already has one); return True if any."""
    for name, message in fields.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.append(str(message))
        elif not field.errors:
            field.errors = [str(message)]
    return bool(fields)


def refuse(form: FlaskForm, exc: Exception) -> None:
    """Show a domain refusal: beside its fields when it names them (`exc.fields`), else above the form."""
    if not attach(form, getattr(exc, "fields", None) or {}):
        form.form_errors.append(str(exc))
