"""Shape checks of the admin forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange


class PopulationForm(FlaskForm):
    region_id = SelectField(_l("Region"), coerce=int, validators=[InputRequired()])
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=1949, max=2200)])
    population = IntegerField(
        _l("Resident population"), validators=[InputRequired(), NumberRange(min=1, max=100_000_000)]
    )
    source = StringField(_l("Source"), validators=[InputRequired(), Length(max=300)])
