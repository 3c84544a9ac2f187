"""Teams' pages: forming a team, submitting entries and attachments, seeing results, appealing."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import formerrors, names, refusals
from portal.accounts.permissions import role_required
from portal.contest import appeals, entries, forms, permissions, results, teams, windows
from portal.contest.models import Contest, Entry, EntryFile, Round, Team, Track
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions import population
from portal.regions.models import Region
from portal.storage import get_storage

bp = Blueprint("teams", __name__)


@bp.get("/teams/")
@role_required()
def my_teams():
    return render_template("contest/teams.html", teams=teams.teams_of(current_user))


@bp.route("/<int:contest_id>/teams/new", methods=["GET", "POST"])
@role_required()
def new_team(contest_id: int):
    contest = db.get_or_404(Contest, contest_id)
    if contest.is_draft:
        abort(404)  # teams form once the office has published the contest
    form = _with_counties(forms.TeamForm())
    if form.validate_on_submit():
        try:
            team = teams.form_team(
                contest,
                name=form.name.data,
                captain=current_user,
                region=_region(form.region_id.data),
                member_emails=teams.parse_emails(form.members.data or ""),
            )
        except teams.TeamError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The team %(name)s is formed.", name=team.name), "success")
            return redirect(url_for("contest.teams.team", team_id=team.id))
    return render_template(
        "contest/team_form.html", form=form, contest=contest
    ), 400 if form.is_submitted() else 200


@bp.route("/teams/<int:team_id>/edit", methods=["GET", "POST"])
@role_required()
def edit_team(team_id: int):
    team = _team(team_id, edit=True)
    form = _with_counties(forms.TeamForm(obj=team, region_id=team.region_id or 0))
    if request.method == "GET":
        form.members.data = "\n".join(team.member_emails)
    if form.validate_on_submit():
        try:
            teams.update_team(
                team,
                name=form.name.data,
                region=_region(form.region_id.data),
                member_emails=teams.parse_emails(form.members.data or ""),
            )
        except teams.TeamError as exc:
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("contest.teams.team", team_id=team.id))
    page = render_template("contest/team_form.html", form=form, contest=team.contest, team=team)
    return page, 400 if form.is_submitted() else 200


@bp.get("/teams/<int:team_id>")
@role_required()
def team(team_id: int):
    team = _team(team_id)
    mine = {(e.round_id, e.track_id): e for e in entries.entries_of(team)}
    published = {r.id: results.compute(r) for r in team.contest.rounds if r.is_published}
    open_rounds = [r for r in team.contest.rounds if windows.submission_open(r, utcnow())]
    barred = {
        (r.id, t.id): entries.entry_problem(team, r, t) for r in open_rounds for t in team.contest.tracks
    }
    return render_template(
        "contest/team.html",
        team=team,
        entries=mine,
        published=published,
        barred=barred,
        appeal_form=forms.ReasonForm(),
        appeal_of=appeals.appeal_of,
    )


def _draft_fits(form: forms.EntryForm) -> bool:
    return not (
        form.is_submitted() and formerrors.attach(form, entries.draft_problems(forms.entry_draft(form)))
    )


@bp.route("/teams/<int:team_id>/rounds/<int:round_id>/tracks/<int:track_id>/entry", methods=["GET", "POST"])
@role_required()
def entry_form(team_id: int, round_id: int, track_id: int):
    team = _team(team_id, edit=True)
    round_, track = db.get_or_404(Round, round_id), db.get_or_404(Track, track_id)
    entry = entries.entry_of(team, round_, track)
    form = _with_datasets(
        forms.EntryForm(obj=entry, dataset_ids=[d.id for d in entry.datasets] if entry else [])
    )
    searching = request.form.get("action") == "search"
    # one pass: the form's checks and the draft's own rules together, each error beside its field
    if not searching and form.validate_on_submit() & _draft_fits(form):
        first = entry is None
        try:
            entry = entries.submit_entry(
                team, round_, track, forms.entry_draft(form), by=current_user, now=utcnow()
            )
        except entries.SubmissionError as exc:
            formerrors.refuse(form, exc)
        else:
            db.session.commit()
            done = (
                _("The entry is submitted to %(round)s: it takes part in the round. You can change it, and "
                  "add attachments, until the submission window closes.", round=round_.name)
                if first
                else _("The changes to the entry are saved; they count as submitted.")
            )  # fmt: skip
            flash(done, "success")
            return redirect(url_for("contest.teams.entry", entry_id=entry.id))
    page = render_template(
        "contest/entry_form.html", form=form, team=team, round=round_, track=track, entry=entry,
        open=windows.submission_open(round_, utcnow()),
    )  # fmt: skip
    return page, 400 if form.is_submitted() and not searching else 200


@bp.get("/entries/<int:entry_id>")
@role_required()
def entry(entry_id: int):
    entry = db.get_or_404(Entry, entry_id)
    if not permissions.can_view_entry(current_user, entry):
        abort(403)
    return render_template(
        "contest/entry.html",
        entry=entry,
        upload_form=forms.AttachmentForm(),
        open=windows.submission_open(entry.round, utcnow()),
    )


@bp.post("/entries/<int:entry_id>/files")
@role_required()
def upload(entry_id: int):
    entry = db.get_or_404(Entry, entry_id)
    if not permissions.can_edit_entry(current_user, entry.team):
        abort(403)
    form = forms.AttachmentForm()
    if not form.validate_on_submit():
        abort(400)
    limits = current_app.config.get("CONTEST_ATTACHMENT_MAX_SIZES", entries.DEFAULT_MAX_SIZES)
    upload = form.file.data
    return refusals.act(
        lambda: entries.add_attachment(
            entry,
            filename=upload.filename or "",
            stream=upload.stream,
            by=current_user,
            now=utcnow(),
            store=get_storage(),
            max_sizes=limits,
        ),
        then=url_for("contest.teams.entry", entry_id=entry.id),
        done=_("The attachment is stored."),
    )


@bp.post("/entries/<int:entry_id>/files/<int:file_id>/delete")
@role_required()
def delete_file(entry_id: int, file_id: int):
    attachment = db.get_or_404(EntryFile, file_id)
    if attachment.entry_id != entry_id or not permissions.can_edit_entry(current_user, attachment.entry.team):
        abort(403)
    return refusals.act(
        lambda: entries.remove_attachment(attachment, by=current_user, now=utcnow(), store=get_storage()),
        then=url_for("contest.teams.entry", entry_id=entry_id),
    )


@bp.get("/entries/<int:entry_id>/files/<int:file_id>")
@role_required()
def download(entry_id: int, file_id: int):
    attachment = db.get_or_404(EntryFile, file_id)
    if attachment.entry_id != entry_id or not permissions.can_download_file(current_user, attachment):
        abort(404)
    store = get_storage()
    url = store.url_for_download(
        attachment.storage_key, filename=attachment.filename, content_type=attachment.content_type
    )
    if url:
        return redirect(url)
    return send_file(
        store.open(attachment.storage_key),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
    )


@bp.post("/entries/<int:entry_id>/appeal")
@role_required()
def appeal(entry_id: int):
    entry = db.get_or_404(Entry, entry_id)
    if not permissions.can_file_appeal(current_user, entry):
        abort(403)
    form = forms.ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    return refusals.act(
        lambda: appeals.file_appeal(entry, reason=form.reason.data, by=current_user, now=utcnow()),
        then=url_for("contest.teams.team", team_id=entry.team_id),
        done=_("The appeal is filed; the office will answer it."),
    )


def _team(team_id: int, *, edit: bool = False) -> Team:
    team = db.get_or_404(Team, team_id)
    allowed = permissions.can_edit_team if edit else permissions.can_view_team
    if not allowed(current_user, team):
        abort(403)
    return team


def _with_counties(form: forms.TeamForm) -> forms.TeamForm:
    form.region_id.choices = [(0, "—")] + [
        (r.id, names.local_region_name(r.name)) for r in population.counties()
    ]
    return form


def _with_datasets(form: forms.EntryForm) -> forms.EntryForm:
    """Offer the datasets already chosen and those the search box finds."""
    chosen = entries.datasets_by_ids(form.dataset_ids.data or [])
    found = entries.find_datasets(form.q.data or "")
    form.dataset_ids.choices = [(d.id, d.title) for d in {d.id: d for d in chosen + found}.values()]
    return form


def _region(region_id: int | None) -> Region | None:
    return db.session.get(Region, region_id) if region_id else None
