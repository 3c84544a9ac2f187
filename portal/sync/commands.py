"""`flask --app wsgi ckan sync`: bring the catalogue up to date with CKAN or a dump file."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.sync import collaborators, jobs, lock, remote
from portal.sync.collaborators import fetcher_from_config, guard_from_config, settings_from_config  # noqa: F401

ckan = AppGroup("ckan", help="Sync the catalogue from CKAN.")


def source_from_config(location: str | None, **options):
    """Open the source named by `location`, or CKAN_URL; raise ClickException when it cannot be."""
    try:
        return collaborators.source_from_config(location, **options)
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
    """Sync datasets from CKAN (incremental unless --full), then roll up the statistics."""
    try:
        started = jobs.start(location, full=full, mirror=mirror)
    except remote.SourceUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    except lock.SyncBusy as exc:
        raise click.ClickException("another sync is running; try again when it has finished") from exc
    with _progress_bar() as progress:
        finished = jobs.carry_out(
            started.id, started.source.location, full=full, mirror=mirror, progress=progress
        )
    click.echo(summary(finished))
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
