"""The office's results pages: figures side by side, judge statistics, publication, challenges, exports."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.accounts.models import ADMIN
from portal.accounts.permissions import role_required
from portal.contest import appeals, exports, flags, forms, panels, results, scoring
from portal.contest.models import Appeal, Assignment, Entry, IdentityFlag, Round
from portal.dbtypes import utcnow
from portal.extensions import db

bp = Blueprint("results", __name__, url_prefix="/admin")

EXPORTS = {"scores": exports.score_matrix, "ranking": exports.ranking_table}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.get("/rounds/<int:round_id>/results")
@role_required(ADMIN)
def round_results(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    return render_template(
        "contest/admin/results.html",
        round=round_,
        computed=results.compute(round_),
        now=utcnow(),
        appeals=appeals.appeals_of(round_),
        flags=flags.flags_of(round_),
        progress=results.progress(round_),
        decision_form=forms.DecisionForm(formdata=None),
    )


@bp.post("/rounds/<int:round_id>/publish")
@role_required(ADMIN)
def publish(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    return _act(
        lambda: results.publish(round_, by=current_user, now=utcnow()),
        round_id,
        _("The results are published; the public notice period has begun."),
    )


@bp.post("/rounds/<int:round_id>/finalise")
@role_required(ADMIN)
def finalise(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    return _act(
        lambda: results.finalise(round_, by=current_user, now=utcnow()), round_id, _("The round is final.")
    )


@bp.post("/appeals/<int:appeal_id>")
@role_required(ADMIN)
def answer_appeal(appeal_id: int):
    appeal = db.get_or_404(Appeal, appeal_id)
    form = forms.DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    upheld = form.decision.data == "upheld"
    return _act(
        lambda: appeals.answer_appeal(
            appeal, upheld=upheld, reason=form.reason.data, by=current_user, now=utcnow()
        ),
        appeal.entry.round_id,
        _("The answer is recorded."),
    )


@bp.post("/flags/<int:flag_id>")
@role_required(ADMIN)
def decide_flag(flag_id: int):
    flag = db.get_or_404(IdentityFlag, flag_id)
    form = forms.DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    disqualify = form.decision.data == "upheld"
    return _act(
        lambda: flags.decide_flag(
            flag, disqualify=disqualify, reason=form.reason.data, by=current_user, now=utcnow()
        ),
        flag.entry.round_id,
        _("The decision is recorded."),
    )


@bp.get("/rounds/<int:round_id>/export/<what>.<fmt>")
@role_required(ADMIN)
def export(round_id: int, what: str, fmt: str):
    round_ = db.get_or_404(Round, round_id)
    if what not in EXPORTS or fmt not in CONTENT_TYPES:
        abort(404)
    table = EXPORTS[what](results.compute(round_))
    body = exports.to_csv(table) if fmt == "csv" else exports.to_xlsx(table, f"{round_.name} {what}")
    filename = f"contest-{round_.contest_id}-round-{round_.id}-{what}.{fmt}"
    return Response(
        body,
        content_type=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/entries/<int:entry_id>")
@role_required(ADMIN)
def entry_audit(entry_id: int):
    entry = db.get_or_404(Entry, entry_id)
    sheets = db.session.scalars(
        select(Assignment).where(Assignment.entry_id == entry_id).order_by(Assignment.id)
    )
    sheets = [(a, scoring.scores_of(a), scoring.history(a)) for a in sheets]
    row = results.compute(entry.round).row_of(entry)
    return render_template(
        "contest/admin/entry.html",
        entry=entry,
        sheets=sheets,
        row=row,
        criteria=list(entry.round.criteria),
        county_of=panels.county_of,
    )


def _act(action, round_id: int, done: str):
    """Run one publication action, commit or show its refusal, and go back to the results page."""
    return refusals.act(action, then=url_for("contest.results.round_results", round_id=round_id), done=done)
