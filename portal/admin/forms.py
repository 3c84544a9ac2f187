"""Shape checks of the admin forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from portal.accounts.forms import AccountForm


class PopulationForm(FlaskForm):
    region_id = SelectField(_l("Region"), coerce=int, validators=[InputRequired()])
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=1949, max=2200)])
    population = IntegerField(
        _l("Resident population"), validators=[InputRequired(), NumberRange(min=1, max=100_000_000)]
    )
    source = StringField(_l("Source"), validators=[InputRequired(), Length(max=300)])


class NewAccountForm(AccountForm):
    """A new account; a data owner's departments too (checked in catalogue/owners.py)."""

    departments = SelectMultipleField(_l("Departments (for data owners)"), coerce=int)


class DepartmentsForm(FlaskForm):
    """The departments a data owner answers for."""

    departments = SelectMultipleField(_l("Departments"), coerce=int)
