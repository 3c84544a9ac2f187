"""Shape checks of the contest forms: required fields, lengths, types; the rules live in the domain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional

from portal.contest.entries import EntryDraft
from portal.contest.models import MEAN, TRIMMED_MEAN, Criterion
from portal.contest.scoring import OVERALL_COMMENT_MAX, Mark
from portal.contest.setup import CriterionSpec

RUBRIC_ROWS = 8


class ContestForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2200)])
    name = StringField(lazy_pgettext("contest", "Name"), validators=[InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    rules = TextAreaField(_l("Rules"), validators=[Optional(), Length(max=20000)])


class TrackForm(FlaskForm):
    name = StringField(_l("Track name"), validators=[InputRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class RoundForm(FlaskForm):
    name = StringField(_l("Round name"), validators=[InputRequired(), Length(max=60)])
    submission_opens_at = DateTimeLocalField(_l("Submissions open"), validators=[InputRequired()])
    submission_closes_at = DateTimeLocalField(_l("Submissions close"), validators=[InputRequired()])
    judging_opens_at = DateTimeLocalField(_l("Judging opens"), validators=[InputRequired()])
    judging_closes_at = DateTimeLocalField(_l("Judging closes"), validators=[InputRequired()])
    judges_per_entry = IntegerField(_l("Judges per entry"), default=3, validators=[InputRequired()])
    advance_count = IntegerField(_l("Entries advancing per track"), validators=[Optional()])
    advance_cutoff = DecimalField(_l("Or: score cut-off to advance"), places=None, validators=[Optional()])
    aggregation = SelectField(_l("Aggregation"), default=MEAN)
    normalise = BooleanField(_l("Normalise each judge's scores (z-score)"))
    blind = BooleanField(_l("Blind judging"))
    notice_days = IntegerField(_l("Public notice period (days)"), default=7, validators=[InputRequired()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.aggregation.choices = [
            (MEAN, _l("Mean")),
            (TRIMMED_MEAN, _l("Trimmed mean (five judges or more)")),
        ]


class CriterionForm(Form):
    name = StringField(_l("Criterion"), validators=[Optional(), Length(max=60)])
    description = StringField(_l("What judges look for"), validators=[Optional(), Length(max=500)])
    weight = IntegerField(_l("Weight, in percent"), validators=[Optional()])
    max_score = IntegerField(_l("Maximum score"), validators=[Optional()])
    tiebreak_order = IntegerField(_l("Tie-break position"), validators=[Optional()])


class RubricForm(FlaskForm):
    criteria = FieldList(FormField(CriterionForm), min_entries=RUBRIC_ROWS, max_entries=RUBRIC_ROWS)


class JudgeForm(FlaskForm):
    judge_id = SelectField(_l("Judge"), coerce=int, validators=[InputRequired()])
    track_id = SelectField(_l("Track"), coerce=int, validators=[InputRequired()])


class JudgeCountyForm(FlaskForm):
    region_id = SelectField(_l("The judge's county"), coerce=int, validators=[Optional()])


class CloseForm(FlaskForm):
    """The confirmation of a "close now" action: nothing but the CSRF token."""


class ManualAssignmentForm(FlaskForm):
    judge_id = SelectField(_l("Judge"), coerce=int, validators=[InputRequired()])


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[InputRequired(), Length(max=100)])
    region_id = SelectField(_l("County (for a county team)"), coerce=int, validators=[Optional()])
    members = TextAreaField(
        _l("Members' email addresses, one a line"), validators=[Optional(), Length(max=3000)]
    )


class EntryForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    abstract = TextAreaField(_l("Abstract"), validators=[InputRequired(), Length(max=5000)])
    demo_url = URLField(_l("Demo address"), validators=[Optional(), URL(), Length(max=500)])
    dataset_ids = SelectMultipleField(_l("Catalogue datasets used"), coerce=int, validators=[Optional()])
    q = StringField(_l("Find datasets"), validators=[Optional(), Length(max=100)])


class AttachmentForm(FlaskForm):
    file = FileField(
        _l("Attachment (PDF, PPTX, DOCX, XLSX, ZIP, MP4 or an image)"), validators=[FileRequired()]
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"))
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decision.choices = [("upheld", _l("Uphold")), ("dismissed", _l("Dismiss"))]


def entry_draft(form: EntryForm) -> EntryDraft:
    return EntryDraft(
        form.title.data, form.abstract.data, form.demo_url.data or "", form.dataset_ids.data or []
    )


def criterion_specs(form: RubricForm) -> list[CriterionSpec]:
    """Return the filled rows of the rubric form; rows without a name are ignored."""
    return [
        CriterionSpec(
            name=row.form.name.data.strip(),
            description=row.form.description.data or "",
            weight=row.form.weight.data or 0,
            max_score=row.form.max_score.data or 0,
            tiebreak_order=row.form.tiebreak_order.data,
        )
        for row in form.criteria
        if (row.form.name.data or "").strip()
    ]


def score_form(criteria: list[Criterion], data: dict | None = None) -> FlaskForm:
    """Build the scoring form of a rubric: a score and a comment per criterion."""

    class ScoreForm(FlaskForm):
        pass

    for criterion in criteria:
        setattr(
            ScoreForm,
            f"score_{criterion.id}",
            DecimalField(criterion.name, places=None, validators=[Optional()]),
        )
        setattr(
            ScoreForm, f"comment_{criterion.id}", TextAreaField(_l("Comment"), validators=[Length(max=2000)])
        )
    ScoreForm.overall_comment = TextAreaField(
        _l("Overall comment on the entry"), validators=[Length(max=OVERALL_COMMENT_MAX)]
    )
    return ScoreForm(data=data)


def score_data(scores: dict, overall_comment: str = "") -> dict:
    """Return the form data that shows saved scores (criterion id → Score) and the overall comment."""
    data = {"overall_comment": overall_comment}
    for criterion_id, score in scores.items():
        data[f"score_{criterion_id}"] = score.value
        data[f"comment_{criterion_id}"] = score.comment
    return data


def marks(form: FlaskForm, criteria: list[Criterion]) -> dict[int, Mark]:
    return {c.id: Mark(form[f"score_{c.id}"].data, form[f"comment_{c.id}"].data or "") for c in criteria}
