"""Every sync goes through here: start a run, carry it out, then what follows every sync.

The CLI carries a run out in its own process; the web and the scheduler enqueue it as the job
"sync.run" or "sync.scheduled" (`portal/jobs/registry.py`), which a worker runs with REDIS_URL set
and the app process runs in-process without. A job is resumable: an attempt that dies mid-run (its
worker killed) leaves the run "running" and the lock in its name; the retry takes both over and
syncs again from the run's watermark, so nothing is lost and nothing already written is written twice.
"""

from __future__ import annotations

from flask import current_app

from portal import storage
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.jobs import queue
from portal.sync import collaborators, lock, outcome, run
from portal.sync.models import FAILED, RUNNING, SyncRun

# What runs after every sync that did not fail, whoever started it: the statistics take the new
# catalogue in at once. Jobs by name (portal/jobs/registry.py), run in this order.
AFTER_SYNC = ("metrics.rollup",)


def start(location: str | None, *, full: bool, mirror: bool, started_by_id: int | None = None) -> SyncRun:
    """Open the source, take the lock and record a new run; raise SourceUnavailable or SyncBusy."""
    source = collaborators.source_from_config(location)
    settings = collaborators.settings_from_config(full=full, mirror=mirror, started_by_id=started_by_id)
    return run.start(source, settings)


def enqueue(started: SyncRun, location: str, *, full: bool, mirror: bool, background: bool = True):
    """Hand the started run to the job queue (a worker, or in-process); return its job record."""
    return queue.enqueue(
        "sync.run",
        background=background,
        thread_name=f"sync-run-{started.id}",
        run_id=started.id,
        location=location,
        full=full,
        mirror=mirror,
    )


def carry_out(run_id: int, location: str, *, full: bool, mirror: bool, progress=None) -> SyncRun:
    """Carry out the started run `run_id`, then run what follows a sync (AFTER_SYNC) unless it failed.

    Needs an app context. Commits per dataset and releases the lock. A run already finished is left
    as it is (a job delivered twice); a run whose earlier attempt died takes its own lock back. When
    the source cannot be opened, marks the run failed, releases the lock and raises.
    """
    started = db.session.get(SyncRun, run_id)
    if started is None:
        raise LookupError(f"no sync run #{run_id}")
    if started.status != RUNNING:
        return started
    try:
        lock.reclaim(run_id)
        source = collaborators.source_from_config(location)
        settings = collaborators.settings_from_config(
            full=full, mirror=mirror, started_by_id=started.started_by_id
        )
        store = storage.get_storage()
        fetcher = collaborators.fetcher_from_config()
    except lock.SyncBusy:
        raise
    except Exception as exc:
        db.session.rollback()
        started.status, started.finished_at = FAILED, utcnow()
        started.message = f"{outcome.NOT_BEGUN}: {getattr(exc, 'message', None) or exc}"[:2000]
        db.session.commit()
        lock.release(run_id)
        raise
    finished = run.execute(started, source, settings, store=store, fetcher=fetcher, progress=progress)
    if finished.status != FAILED:
        for name in AFTER_SYNC:
            queue.enqueue(name)
    return finished


def run_started(run_id: int, location: str, full: bool = False, mirror: bool = False) -> str:
    """The job "sync.run": carry out a run the web started."""
    try:
        finished = carry_out(run_id, location, full=full, mirror=mirror)
    except Exception:
        current_app.logger.exception("sync run %s failed", run_id)
        raise
    return f"sync #{finished.id} {finished.status}"


def run_scheduled(full: bool = False, location: str | None = None, mirror: bool = True) -> str:
    """The job "sync.scheduled": start a run from CKAN_URL (or `location`) and carry it out.

    Without a source there is nothing to do; with another sync running this one is skipped, since
    the next scheduled one reads from the watermark anyway.
    """
    if not (location or current_app.config.get("CKAN_URL")):
        return "skipped: no CKAN_URL"
    try:
        started = start(location, full=full, mirror=mirror)
    except lock.SyncBusy:
        return "skipped: another sync is running"
    return run_started(started.id, started.source.location, full, mirror)
