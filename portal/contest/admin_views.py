"""The office's set-up pages: contests, tracks, rounds and rubrics; judge panels, assignments, conflicts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import clock, refusals
from portal.accounts.models import ADMIN, JUDGE, User
from portal.accounts.permissions import role_required
from portal.contest import forms, panels, results, rubrics, setup
from portal.contest.models import Assignment, Conflict, Contest, Entry, Round, RoundJudge, Track
from portal.dbtypes import utcnow
from portal.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")

WINDOW_FIELDS = ("submission_opens_at", "submission_closes_at", "judging_opens_at", "judging_closes_at")
ROUND_FIELDS = (
    "name",
    "judges_per_entry",
    "advance_count",
    "advance_cutoff",
    "aggregation",
    "normalise",
    "blind",
    "notice_days",
)


@bp.route("/", methods=["GET", "POST"])
@role_required(ADMIN)
def contests():
    form = forms.ContestForm()
    if form.validate_on_submit():
        try:
            contest = setup.create_contest(
                year=form.year.data,
                name=form.name.data,
                by=current_user,
                description=form.description.data or "",
                rules=form.rules.data or "",
            )
        except setup.SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The contest is created as a draft: add tracks and a round, then publish it."), "success")
            return redirect(url_for("contest.admin.contest", contest_id=contest.id))
    status = 400 if form.is_submitted() else 200
    return render_template("contest/admin/contests.html", contests=setup.contests(), form=form), status


@bp.post("/<int:contest_id>/publish")
@role_required(ADMIN)
def publish_contest(contest_id: int):
    contest = db.get_or_404(Contest, contest_id)
    return refusals.act(
        lambda: setup.publish_contest(contest, by=current_user, now=utcnow()),
        then=url_for("contest.admin.contest", contest_id=contest.id),
        done=_("The contest is public: its page and the API show it, and teams can form."),
    )


@bp.post("/<int:contest_id>/unpublish")
@role_required(ADMIN)
def unpublish_contest(contest_id: int):
    contest = db.get_or_404(Contest, contest_id)
    return refusals.act(
        lambda: setup.unpublish_contest(contest),
        then=url_for("contest.admin.contest", contest_id=contest.id),
        done=_("The contest is a draft again; only the office sees it."),
    )


@bp.route("/<int:contest_id>", methods=["GET", "POST"])
@role_required(ADMIN)
def contest(contest_id: int):
    contest = db.get_or_404(Contest, contest_id)
    form = forms.ContestForm(obj=contest)
    if form.validate_on_submit():
        try:
            setup.update_contest(
                contest,
                year=form.year.data,
                name=form.name.data,
                description=form.description.data or "",
                rules=form.rules.data or "",
            )
        except setup.SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The contest is saved."), "success")
            return redirect(url_for("contest.admin.contest", contest_id=contest.id))
    return render_template(
        "contest/admin/contest.html", contest=contest, form=form, track_form=forms.TrackForm(formdata=None)
    ), 400 if form.is_submitted() else 200


@bp.post("/<int:contest_id>/tracks")
@role_required(ADMIN)
def add_track(contest_id: int):
    contest = db.get_or_404(Contest, contest_id)
    form = forms.TrackForm()
    if not form.validate_on_submit():
        abort(400)
    return refusals.act(
        lambda: setup.add_track(contest, name=form.name.data, description=form.description.data or ""),
        then=url_for("contest.admin.contest", contest_id=contest.id),
        done=_("The track %(name)s is added.", name=form.name.data.strip()),
    )


@bp.route("/<int:contest_id>/rounds/new", methods=["GET", "POST"])
@bp.route("/rounds/<int:round_id>", methods=["GET", "POST"], defaults={"contest_id": None})
@role_required(ADMIN)
def round_settings(contest_id: int | None, round_id: int | None = None):
    round_ = db.get_or_404(Round, round_id) if round_id else None
    contest = round_.contest if round_ else db.get_or_404(Contest, contest_id)
    suggested = setup.next_round_rules(contest) if round_ is None else None  # fewer fields to type
    form = forms.RoundForm(data=_round_data(round_ or suggested))
    if form.validate_on_submit():
        try:
            round_ = setup.save_round(contest, _round_rules(form), round_)
        except setup.SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The round is saved."), "success")
            return redirect(url_for("contest.admin.round_settings", round_id=round_.id))
    status = 400 if form.is_submitted() else 200
    page = render_template(
        "contest/admin/round_form.html", contest=contest, round=round_, form=form, suggested=suggested
    )
    return page, status


@bp.route("/rounds/<int:round_id>/rubric", methods=["GET", "POST"])
@role_required(ADMIN)
def rubric(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    start = rubrics.starting_point(request.args.get("start", "")[:20], round_) if not request.form else None
    rows = [vars(spec) for spec in start[1]] if start else _rubric_rows(round_)
    form = forms.RubricForm(data=None if request.method == "POST" else {"criteria": rows})
    if form.validate_on_submit():
        try:
            setup.set_rubric(round_, forms.criterion_specs(form))
        except setup.SetupError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The rubric is saved."), "success")
            return redirect(url_for("contest.admin.rubric", round_id=round_.id))
    page = render_template(
        "contest/admin/rubric.html", round=round_, form=form, started_from=start[0] if start else None,
        templates=rubrics.TEMPLATES, last_round=rubrics.last_rubric_round(round_),
    )  # fmt: skip
    return page, 400 if form.is_submitted() else 200


@bp.get("/rounds/<int:round_id>/judges")
@role_required(ADMIN)
def judges(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    entries = db.session.scalars(
        select(Entry).where(Entry.round_id == round_id).order_by(Entry.track_id, Entry.id)
    )
    return render_template(
        "contest/admin/panel.html",
        round=round_,
        panel=panels.panel(round_),
        entries=list(entries),
        assignments_by_entry=panels.assignments_by_entry(round_),
        conflicts=panels.open_conflicts(round_),
        form=_judge_form(round_),
        county_of=panels.county_of,
    )


@bp.post("/rounds/<int:round_id>/judges")
@role_required(ADMIN)
def add_judge(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    form = _judge_form(round_)
    if not form.validate_on_submit():
        abort(400)
    track, judge = db.get_or_404(Track, form.track_id.data), db.get_or_404(User, form.judge_id.data)
    back = url_for("contest.admin.judges", round_id=round_id)
    return refusals.act(lambda: panels.add_judge(round_, track, judge), then=back)


@bp.post("/panel/<int:membership_id>/delete")
@role_required(ADMIN)
def remove_judge(membership_id: int):
    membership = db.get_or_404(RoundJudge, membership_id)
    return _act(lambda: panels.remove_judge(membership), membership.round_id)


@bp.post("/rounds/<int:round_id>/assign")
@role_required(ADMIN)
def assign(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    try:
        report = panels.assign_round(round_, by=current_user, now=utcnow())
    except panels.PanelError as exc:
        flash(str(exc), "error")
        return redirect(url_for("contest.admin.judges", round_id=round_id))
    db.session.commit()
    flash(_("%(n)d assignments made.", n=report.created), "success")
    if report.short:
        flash(
            _(
                "%(n)d entries have fewer judges than wanted: add judges of other counties.",
                n=len(report.short),
            ),
            "error",
        )
    return redirect(url_for("contest.admin.judges", round_id=round_id))


@bp.post("/entries/<int:entry_id>/assignments")
@role_required(ADMIN)
def assign_entry(entry_id: int):
    entry = db.get_or_404(Entry, entry_id)
    form = forms.ManualAssignmentForm()
    form.judge_id.choices = [(u.id, u.display_name) for u in _judge_accounts()]
    if not form.validate_on_submit():
        abort(400)
    judge = db.get_or_404(User, form.judge_id.data)
    return _act(lambda: panels.assign_manually(entry, judge, by=current_user, now=utcnow()), entry.round_id)


@bp.post("/assignments/<int:assignment_id>/remove")
@role_required(ADMIN)
def remove_assignment(assignment_id: int):
    assigned = db.get_or_404(Assignment, assignment_id)
    return _act(lambda: panels.remove_assignment(assigned), assigned.round_id)


@bp.post("/conflicts/<int:conflict_id>")
@role_required(ADMIN)
def resolve_conflict(conflict_id: int):
    conflict = db.get_or_404(Conflict, conflict_id)
    replace = request.form.get("replace") == "1"
    return _act(
        lambda: panels.resolve_conflict(conflict, replace=replace, by=current_user, now=utcnow()),
        conflict.assignment.round_id,
    )


@bp.get("/rounds/<int:round_id>/progress")
@role_required(ADMIN)
def progress(round_id: int):
    round_ = db.get_or_404(Round, round_id)
    return render_template(
        "contest/admin/progress.html",
        round=round_,
        progress=results.progress(round_),
        conflicts=panels.open_conflicts(round_),
    )


def _act(action, round_id: int):
    """Run one panel action, commit or show its refusal, and go back to the panel page."""
    return refusals.act(action, then=url_for("contest.admin.judges", round_id=round_id), done=_("Done."))


def _judge_accounts() -> list[User]:
    query = select(User).where(User.role == JUDGE, User.active.is_(True)).order_by(User.display_name)
    return list(db.session.scalars(query))


def _judge_form(round_: Round) -> forms.JudgeForm:
    form = forms.JudgeForm()
    form.judge_id.choices = [(u.id, f"{u.display_name} <{u.email}>") for u in _judge_accounts()]
    form.track_id.choices = [(t.id, t.name) for t in round_.contest.tracks]
    return form


def _round_data(round_: Round | setup.RoundRules | None) -> dict | None:
    """Return a round's settings (or suggested rules) for its form, windows in the city's wall-clock time."""
    if round_ is None:
        return None
    data = {name: getattr(round_, name) for name in ROUND_FIELDS}
    return data | {name: clock.to_local(getattr(round_, name)) for name in WINDOW_FIELDS}


def _round_rules(form: forms.RoundForm) -> setup.RoundRules:
    times = {name: clock.from_local(form[name].data) for name in WINDOW_FIELDS}
    return setup.RoundRules(
        name=form.name.data,
        judges_per_entry=form.judges_per_entry.data,
        advance_count=form.advance_count.data,
        advance_cutoff=form.advance_cutoff.data,
        aggregation=form.aggregation.data,
        normalise=form.normalise.data,
        blind=form.blind.data,
        notice_days=form.notice_days.data,
        **times,
    )


def _rubric_rows(round_: Round) -> list[dict]:
    return [
        {
            "name": c.name,
            "description": c.description,
            "weight": c.weight,
            "max_score": c.max_score,
            "tiebreak_order": c.tiebreak_order,
        }
        for c in round_.criteria
    ]
