"""The data office's sync pages: runs, starting a run, a run's errors, sync health, and the datasets held
for personal data review (待脱敏审核)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal import clock, outbound, refusals
from portal.accounts.models import ADMIN
from portal.accounts.permissions import role_required
from portal.audit import web as audit_web
from portal.catalogue import rules
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.rows import tables as row_tables
from portal.sync import collaborators, health, lock, outcome, remote, run, screen, sources
from portal.sync import jobs as sync_jobs
from portal.sync.models import SyncError, SyncIdentityChange, SyncRun

bp = Blueprint("sync", __name__, url_prefix="/admin/sync")

RUNS_PER_PAGE = 25
HOLDS_PER_PAGE = 20
RELEASED_SHOWN = 50
ERRORS_PER_PAGE = 50
CHANGES_SHOWN = 200  # a catalogue moved to new ids relinks every record; the run's figure counts them
HEALTH_SOURCE = "sync_health_source"  # the session remembers the source an admin last checked


@bp.get("/")
@role_required(ADMIN)
def index():
    return _runs_page()


@bp.post("/start")
@role_required(ADMIN)
def start():
    full, mirror = bool(request.form.get("full")), bool(request.form.get("mirror"))
    try:
        source = _open_source(_chosen_location())
        settings = collaborators.settings_from_config(full=full, mirror=mirror, started_by_id=current_user.id)
        started = run.start(source, settings)
    except remote.SourceUnavailable as exc:
        flash(str(exc), "error")
        return _runs_page(request.form), 400
    except lock.SyncBusy:
        flash(_("Another sync is running; try again when it has finished."), "error")
        return _runs_page(), 409
    in_background = current_app.config["SYNC_IN_BACKGROUND"]  # in-process only; a worker runs it with Redis
    sync_jobs.enqueue(started, source.location, full=full, mirror=mirror, background=in_background)
    flash(_("Sync #%(id)d has started.", id=started.id), "success")
    return redirect(url_for("sync.run_detail", run_id=started.id))


@bp.get("/runs/<int:run_id>")
@role_required(ADMIN)
def run_detail(run_id: int):
    sync_run = db.get_or_404(SyncRun, run_id)
    query = select(SyncError).where(SyncError.run_id == run_id).order_by(SyncError.id)
    errors = db.paginate(query, per_page=ERRORS_PER_PAGE, error_out=False)
    changes = db.session.scalars(
        select(SyncIdentityChange)
        .where(SyncIdentityChange.run_id == run_id)
        .order_by(SyncIdentityChange.id)
        .limit(CHANGES_SHOWN)
    ).all()
    told = outcome.describe(sync_run, errors=errors.total or 0)
    loads = row_tables.loads_since(db.session, sync_run.started_at)  # the row store's progress
    return render_template(
        "sync/run.html", run=sync_run, errors=errors, changes=changes, outcome=told, row_loads=loads
    )


@bp.get("/holds")
@role_required(ADMIN)
def holds():
    """The datasets held for personal data, with what was found (masked), and the latest releases."""
    held = db.paginate(screen.held_datasets(), per_page=HOLDS_PER_PAGE, error_out=False)
    released = db.session.scalars(screen.released_datasets().limit(RELEASED_SHOWN)).all()
    return render_template("sync/holds.html", held=held, released=released, max_reason=screen.REASON_MAX)


@bp.post("/holds/<int:dataset_id>/release")
@role_required(ADMIN)
def release_hold(dataset_id: int):
    dataset = db.get_or_404(Dataset, dataset_id)
    reason = request.form.get("reason", "")[: screen.REASON_MAX + 1]
    return refusals.act(
        lambda: screen.release(
            dataset, by=current_user, reason=reason, now=clock.now(), client=audit_web.client()
        ),
        then=url_for("sync.holds"),
        done=_("%(title)s is published.", title=dataset.title),
    )


@bp.get("/health")
@role_required(ADMIN)
def health_report():
    """The form only: the check reads a remote source, so it waits for a POST with its CSRF token."""
    remembered = session.get(HEALTH_SOURCE) or current_app.config.get("CKAN_URL") or ""
    return _health_page(remembered, checked=False)


@bp.post("/health")
@role_required(ADMIN)
def health_check():
    rows, problem, status, location = [], None, 200, ""
    try:
        location = _chosen_location()
        session[HEALTH_SOURCE] = location
        if location or current_app.config.get("CKAN_URL"):
            rows = _compare(location)
    except remote.SourceRefused as exc:
        problem, status = str(exc), 400
    except remote.SourceUnavailable as exc:
        problem, status = str(exc), 502
    return _health_page(location, checked=True, rows=rows, problem=problem), status


def _health_page(location: str, *, checked: bool, rows=(), problem: str | None = None) -> str:
    choices = _choices()
    choice, typed = sources.selected(location, choices)
    return render_template(
        "sync/health.html",
        choices=choices,
        choice=choice,
        typed=typed,
        rows=list(rows),
        total=health.total(list(rows)),
        problem=problem,
        checked=checked,
        location=location,
        default_source=current_app.config.get("CKAN_URL") or "",
    )


def _runs_page(form=None) -> str:
    """The runs and the start form; `form` keeps a refused start's choice and typed URL."""
    query = select(SyncRun).options(joinedload(SyncRun.source)).order_by(SyncRun.id.desc())
    page = db.paginate(query, per_page=RUNS_PER_PAGE, error_out=False)
    form = form or {}
    return render_template(
        "sync/index.html",
        page=page,
        choices=_choices(),
        choice=form.get("source", "")[:1000],
        typed=form.get("source_url", "")[:1000],
        holder=lock.holder(),
        default_source=current_app.config.get("CKAN_URL") or "",
        levels=_level_table(),
        held_count=db.session.scalar(select(func.count()).select_from(screen.held_datasets().subquery())),
        ungraded_setting=current_app.config["UNGRADED_DATASETS"],
    )


def _level_table() -> list[tuple[int | None, int, int]]:
    """(level or None for 未分级, published, withheld) for levels 1-4 and the ungraded."""
    table: dict[int | None, list[int]] = {level: [0, 0] for level in (1, 2, 3, 4, None)}
    for level, is_published, count in db.session.execute(rules.level_counts()):
        table.setdefault(level, [0, 0])[0 if is_published else 1] += count
    return [(level, published, withheld) for level, (published, withheld) in table.items()]


def _choices() -> list[sources.Choice]:
    config = current_app.config
    return sources.offered(config.get("CKAN_URL"), config["SYNC_WEB_DUMP_FOLDER"])


def _chosen_location() -> str:
    """The source the form names; raise remote.SourceRefused for a path that is not offered."""
    choice = request.form.get("source", "")[:1000]
    typed = request.form.get("source_url", "")[:1000]
    try:
        return sources.choose(choice, typed, _choices())
    except sources.Missing as exc:
        raise remote.SourceRefused(_("Type the URL of the CKAN to read.")) from exc
    except sources.NotOffered as exc:
        raise remote.SourceRefused(
            _("Only the dump files offered in the list can be read from the web.")
        ) from exc


def _compare(location: str) -> list[health.Row]:
    config = current_app.config
    source = _open_source(location, timeout=config["SYNC_HEALTH_TIMEOUT"], retries=0)
    try:
        return health.compare(source)
    except remote.SourceUnavailable as exc:
        raise type(exc)(_("The source cannot be read: %(reason)s", reason=exc)) from exc


def _open_source(location: str, **options):
    """Open `location`, or CKAN_URL; raise remote.SourceUnavailable with a message for the page."""
    if not (location or current_app.config.get("CKAN_URL")):
        raise remote.SourceUnavailable(
            _("No source: choose a dump file or type a CKAN URL, or set CKAN_URL.")
        )
    if location.startswith(("http://", "https://")):
        try:  # a typed URL is refused early and clearly; the connections check again
            collaborators.guard_from_config().check(location)
        except outbound.Refused as exc:
            raise remote.SourceRefused(_("The source cannot be read: %(reason)s", reason=exc)) from exc
    try:
        return collaborators.source_from_config(location, **options)
    except remote.SourceUnavailable as exc:
        raise type(exc)(_("The source cannot be read: %(reason)s", reason=exc)) from exc
