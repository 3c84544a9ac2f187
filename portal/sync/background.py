"""Carry out a started sync run away from the request that started it.

A thread in the web process is enough for one run at a time (the lock sees to that) and
needs no task queue. The run is recorded in the database, so the admin pages follow it
from any app server; a process that dies mid-run leaves a stale lock and a "running" run,
which the next `run.start` takes over and marks interrupted.
"""

from __future__ import annotations

import threading

from flask import Flask

from portal import storage
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.sync import commands, lock, outcome, run
from portal.sync.models import FAILED, SyncRun


def launch(app: Flask, run_id: int, location: str, full: bool, mirror: bool) -> threading.Thread:
    """Carry out the started run `run_id` in a daemon thread with its own app context and session."""
    thread = threading.Thread(
        target=_work, args=(app, run_id, location, full, mirror), name=f"sync-run-{run_id}", daemon=True
    )
    thread.start()
    return thread


def _work(app: Flask, run_id: int, location: str, full: bool, mirror: bool) -> None:
    with app.app_context():
        try:
            carry_out(run_id, location, full=full, mirror=mirror)
        except Exception:  # nobody waits for this thread: the log is where a failure shows
            app.logger.exception("sync run %s failed", run_id)
        finally:
            db.session.remove()


def carry_out(run_id: int, location: str, *, full: bool, mirror: bool) -> SyncRun:
    """Execute the started run `run_id` from `location` with collaborators built from the config.

    Needs an app context. Commits per dataset and releases the lock (see `run.execute`).
    When the source or the run cannot be loaded, marks the run failed, releases the lock
    and raises; `run.execute` itself re-raises only unexpected errors, after recording them.
    """
    started = db.session.get(SyncRun, run_id)
    try:
        if started is None:
            raise LookupError(f"no sync run #{run_id}")
        source = commands.source_from_config(location)
        settings = commands.settings_from_config(
            full=full, mirror=mirror, started_by_id=started.started_by_id
        )
        store = storage.get_storage()
        fetcher = commands.fetcher_from_config()
    except Exception as exc:
        db.session.rollback()
        if started is not None:
            started.status, started.finished_at = FAILED, utcnow()
            started.message = f"{outcome.NOT_BEGUN}: {getattr(exc, 'message', None) or exc}"[:2000]
            db.session.commit()
        lock.release(run_id)
        raise
    return run.execute(started, source, settings, store=store, fetcher=fetcher)
