"""`flask --app wsgi ckan sync`: bring the catalogue up to date with CKAN or a dump file."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from portal import outbound, storage
from portal.extensions import db
from portal.sync import lock, mirror, remote, run

ckan = AppGroup("ckan", help="Sync the catalogue from CKAN.")


def settings_from_config(*, full: bool, mirror: bool, started_by_id: int | None = None) -> run.Settings:
    config = current_app.config
    return run.Settings(
        full=full,
        mirror=mirror,
        mirror_max_size=config["SYNC_MIRROR_MAX_SIZE"],
        safety_margin=config["SYNC_SAFETY_MARGIN"],
        started_by_id=started_by_id,
    )


def guard_from_config() -> outbound.Guard:
    """The outbound guard: public addresses, CKAN_URL's host and OUTBOUND_ALLOWED_HOSTS."""
    config = current_app.config
    return outbound.Guard.from_settings(
        config.get("OUTBOUND_ALLOWED_HOSTS") or (), also_urls=[config.get("CKAN_URL")]
    )


def fetcher_from_config() -> mirror.Fetcher:
    """The mirror's fetcher, behind the configured outbound guard."""
    config = current_app.config
    return mirror.Fetcher(
        guard=guard_from_config(),
        timeout=config["SYNC_TIMEOUT"],
        retries=config["SYNC_RETRIES"],
        backoff=config["SYNC_BACKOFF"],
    )


def source_from_config(location: str | None, *, timeout: float | None = None, retries: int | None = None):
    """Open the source named by `location`, or CKAN_URL, behind the outbound guard; raise
    ClickException when there is none. `timeout` and `retries` override the sync's settings."""
    config = current_app.config
    location = location or config.get("CKAN_URL")
    if not location:
        raise click.ClickException("no source: pass --source URL|FILE or set CKAN_URL")
    try:
        return remote.open_source(
            location,
            api_key=config.get("CKAN_API_KEY"),
            timeout=config["SYNC_TIMEOUT"] if timeout is None else timeout,
            retries=config["SYNC_RETRIES"] if retries is None else retries,
            backoff=config["SYNC_BACKOFF"],
            guard=guard_from_config(),
        )
    except remote.SourceUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


@ckan.command("sync")
@click.option("--full", is_flag=True, help="Read every package and withdraw what CKAN no longer publishes.")
@click.option("--source", "location", metavar="URL|FILE", help="A CKAN URL or a `ckanapi dump` file.")
@click.option(
    "--mirror/--no-mirror",
    default=True,
    show_default=True,
    help="Copy resource files into the portal's storage.",
)
def sync_command(full: bool, location: str | None, mirror: bool) -> None:
    """Sync datasets from CKAN (incremental unless --full)."""
    source = source_from_config(location)
    settings = settings_from_config(full=full, mirror=mirror)
    try:
        started = run.start(source, settings)
    except lock.SyncBusy as exc:
        raise click.ClickException("another sync is running; try again when it has finished") from exc
    with _progress_bar() as progress:
        finished = run.execute(
            started,
            source,
            settings,
            store=storage.get_storage(),
            fetcher=fetcher_from_config(),
            progress=progress,
        )
    click.echo(summary(finished))
    if finished.status != "failed":  # the statistics take the new catalogue in at once
        from portal.dbtypes import utcnow
        from portal.metrics import rollup

        rollup.roll_up(now=utcnow())
        db.session.commit()
    if finished.status == "failed":
        raise click.ClickException(finished.message or "the sync failed")
    if finished.status == "partial":
        sys.exit(1)


def summary(r) -> str:
    seconds = (r.finished_at - r.started_at).total_seconds() if r.finished_at else 0
    return (
        f"sync #{r.id} {r.status}: {r.seen} read, {r.created} created, {r.updated} updated, "
        f"{r.unchanged} unchanged, {r.restored} restored, {r.withdrawn} withdrawn, {r.relinked} relinked, "
        f"{r.failed} failed "
        f"in {seconds:.1f}s; watermark {r.watermark_after.isoformat() if r.watermark_after else 'none'}"
        + (f" ({r.message})" if r.message else "")
    )


class _progress_bar:
    """A progress bar on a terminal; silence elsewhere (CI, cron, pipes)."""

    def __enter__(self):
        self.bar = None
        if not sys.stderr.isatty():
            return lambda done, total: None

        def update(done: int, total: int) -> None:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="syncing", file=sys.stderr)
                self.bar.__enter__()
            self.bar.length = max(total, done)
            self.bar.update(done - self.bar.pos)

        return update

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
