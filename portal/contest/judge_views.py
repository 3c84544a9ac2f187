"""Judges' pages: their entries with progress, the scoring form, conflicts and identity flags."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.accounts.models import JUDGE
from portal.accounts.permissions import role_required
from portal.contest import flags, forms, panels, permissions, scoring, windows
from portal.contest.models import SUBMITTED, Assignment
from portal.dbtypes import utcnow
from portal.extensions import db

bp = Blueprint("judging", __name__, url_prefix="/judging")


@bp.get("/")
@role_required(JUDGE)
def index():
    assignments = panels.assignments_of(current_user)
    rounds = list({a.round_id: a.round for a in assignments}.values())
    done = {r.id: sum(1 for a in assignments if a.round_id == r.id and a.status == SUBMITTED) for r in rounds}
    return render_template(
        "contest/judging.html",
        assignments=assignments,
        rounds=rounds,
        done=done,
        scored={a.id: bool(a.scores) for a in assignments},
    )


@bp.route("/assignments/<int:assignment_id>", methods=["GET", "POST"])
@role_required(JUDGE)
def score(assignment_id: int):
    assigned = _assignment(assignment_id)
    criteria = list(assigned.round.criteria)
    saved = forms.score_data(scoring.scores_of(assigned), assigned.overall_comment)
    form = forms.score_form(criteria, data=saved)
    if form.validate_on_submit():
        submit = request.form.get("action") == "submit"
        marks = forms.marks(form, criteria)
        try:
            scoring.save_scores(
                assigned, marks, by=current_user, now=utcnow(), submit=submit,
                overall_comment=form.overall_comment.data or "",
            )  # fmt: skip
        except scoring.ScoringError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your scores are submitted.") if submit else _("Your scores are saved."), "success")
            return redirect(url_for("contest.judging.score", assignment_id=assigned.id))
    page = render_template(
        "contest/score.html", assigned=assigned, entry=assigned.entry, criteria=criteria, form=form,
        conflict_form=forms.ReasonForm(prefix="conflict"), flag_form=forms.ReasonForm(prefix="flag"),
        open=windows.judging_open(assigned.round, utcnow()),
        total=scoring.running_total(criteria, {c.id: form[f"score_{c.id}"].data for c in criteria}),
    )  # fmt: skip
    return page, 400 if form.is_submitted() else 200


@bp.post("/assignments/<int:assignment_id>/conflict")
@role_required(JUDGE)
def conflict(assignment_id: int):
    assigned = _assignment(assignment_id)
    form = forms.ReasonForm(prefix="conflict")
    if not form.validate_on_submit():
        abort(400)
    return refusals.act(
        lambda: panels.declare_conflict(assigned, reason=form.reason.data, by=current_user, now=utcnow()),
        then=url_for("contest.judging.index"),
        done=_("The entry is taken off your list; the office will reassign it."),
        refused=url_for("contest.judging.score", assignment_id=assigned.id),
    )


@bp.post("/assignments/<int:assignment_id>/flag")
@role_required(JUDGE)
def flag(assignment_id: int):
    assigned = _assignment(assignment_id)
    form = forms.ReasonForm(prefix="flag")
    if not form.validate_on_submit():
        abort(400)
    return refusals.act(
        lambda: flags.flag_entry(assigned, reason=form.reason.data, by=current_user, now=utcnow()),
        then=url_for("contest.judging.score", assignment_id=assigned.id),
        done=_("The office will decide on the entry; you may go on scoring it."),
    )


def _assignment(assignment_id: int) -> Assignment:
    """Return the judge's own active assignment; another judge's, or an inactive one, is not found."""
    assigned = db.get_or_404(Assignment, assignment_id)
    if not permissions.can_score_assignment(current_user, assigned):
        abort(404)
    return assigned
