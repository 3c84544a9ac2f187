"""Shape checks of the application forms: required fields, lengths, types."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional


class ApplicationForm(FlaskForm):
    form_token = HiddenField()
    name = StringField(_l("Application name"), validators=[InputRequired(), Length(max=120)])
    quarter = SelectField(_l("Quarter"), validators=[InputRequired()])
    domain = SelectField(_l("Domain"), validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    dataset_ids = SelectMultipleField(_l("Datasets used"), coerce=int, validate_choice=False)
    dataset_q = StringField(_l("Find datasets in the catalogue"), validators=[Optional(), Length(max=100)])
    web_url = StringField(_l("Web address"), validators=[Optional(), Length(max=500)])
    mini_program = StringField(_l("Mini-program"), validators=[Optional(), Length(max=200)])
    zlb_entry = StringField(_l("Zheliban entry"), validators=[Optional(), Length(max=500)])
    screenshots = MultipleFileField(_l("Screenshots"))
    pdf = FileField(_l("PDF document"))
    find = SubmitField(_l("Search"))
    save = SubmitField(_l("Save draft"))
    submit_for_review = SubmitField(_l("Save and submit for review"))


class ReturnForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])
