"""Shape checks of the account forms: required fields, lengths, types."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional

# WTForms' own message reads "无效的 Email 地址" in Chinese; ours says what to do.
VALID_EMAIL = Email(message=_l("Enter a valid email address."))


class SignUpForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), VALID_EMAIL, Length(max=254)])
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(min=1, max=60)])
    organization = StringField(_l("Organisation"), validators=[Optional(), Length(max=120)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=128)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=128)])
    remember = BooleanField(_l("Keep me signed in"))


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(min=1, max=60)])
    organization = StringField(_l("Organisation"), validators=[Optional(), Length(max=120)])


class EmailChoicesForm(FlaskForm):
    """Which kinds of email to receive: the checkboxes named `receive` are read by the view (CSRF here)."""


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired(), Length(max=128)])
    new = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=128)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[InputRequired(), EqualTo("new", message=_l("The passwords differ."))],
    )


class AccountForm(FlaskForm):
    """An admin creates an account of any role."""

    email = EmailField(_l("Email"), validators=[InputRequired(), VALID_EMAIL, Length(max=254)])
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(min=1, max=60)])
    organization = StringField(_l("Organisation"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), validators=[InputRequired()])
    region_id = SelectField(_l("County"), coerce=int, validators=[Optional()])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[InputRequired()])
    region_id = SelectField(_l("County"), coerce=int, validators=[Optional()])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), VALID_EMAIL, Length(max=254)])


class ResetPasswordForm(FlaskForm):
    new = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=128)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[InputRequired(), EqualTo("new", message=_l("The passwords differ."))],
    )
