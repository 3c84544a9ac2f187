"""Run one recorded job and keep its record: started, finished, retrying or failed with its error.

`perform` is what RQ calls in a worker; `run_record` is shared with the in-process path. A job
function takes the record's params as keywords and returns a short summary; it builds its own
collaborators from the app's config and commits its own work.
"""

from __future__ import annotations

import os
import socket
import time
import traceback

from flask import Flask, current_app, has_app_context
from rq.exceptions import AbandonedJobError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.jobs import registry
from portal.jobs.models import FAILED, FINISHED, RETRYING, STARTED, JobRecord

ABANDONED = "the worker stopped in the middle of this job (killed, or its machine lost)"

_worker_app: Flask | None = None  # set by `flask worker` before it forks work horses
_engine_pid = os.getpid()


def use_app(app: Flask) -> None:
    """Run jobs in this app (the worker's, created once before forking)."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    if _worker_app is not None:
        return _worker_app
    if has_app_context():
        return current_app._get_current_object()
    from portal import create_app

    use_app(create_app())
    return _worker_app


def _fresh_connections() -> None:
    """A forked work horse must not use the database connections its parent opened."""
    global _engine_pid
    if os.getpid() != _engine_pid:
        for engine in db.engines.values():
            engine.dispose(close=False)
        _engine_pid = os.getpid()


def perform(record_id: int) -> str:
    """RQ's entry point: run the recorded job in the app; raise on failure so that RQ retries it."""
    from rq import get_current_job

    rq_job = get_current_job()
    retries_left = (rq_job.retries_left or 0) if rq_job is not None else 0
    with _app().app_context():
        _fresh_connections()
        try:
            return run_record(record_id, retries_left=retries_left)
        finally:
            db.session.remove()


def run_record(record_id: int, *, retries_left: int, reraise: bool = True) -> str:
    """Run the job of record `record_id` once; mark it finished, or retrying / failed with its error.

    A record already finished is not run again (a job delivered twice).
    """
    record = db.session.get(JobRecord, record_id)
    if record is None:
        raise LookupError(f"no job record #{record_id}")
    if record.state == FINISHED:
        return "already finished"
    record.state, record.started_at, record.finished_at = STARTED, utcnow(), None
    record.attempts += 1
    record.node = f"{socket.gethostname()}:{os.getpid()}"[:200]
    db.session.commit()
    name, params, began = record.name, dict(record.params or {}), time.monotonic()
    try:
        result = registry.kind(name).function()(**params)
    except Exception as exc:
        db.session.rollback()
        _settle(record_id, RETRYING if retries_left > 0 else FAILED, _describe(exc))
        current_app.logger.warning(
            "job %s #%s failed after %.1fs (%s)", name, record_id, time.monotonic() - began, exc
        )
        if reraise:
            raise
        return f"failed: {exc}"
    _settle(record_id, FINISHED, "")
    return str(result or "")[:500]


def _settle(record_id: int, state: str, error: str) -> None:
    record = db.session.get(JobRecord, record_id)
    record.state, record.error, record.finished_at = state, error, utcnow()
    db.session.commit()


def _describe(exc: BaseException) -> str:
    """The error and where it was raised: its last frames, for the admin page."""
    frames = traceback.format_exception(exc)[-6:]
    return "".join(frames)[-4000:]


def record_failure(job, connection, exc_type, exc_value, tb) -> None:
    """RQ's failure callback. A normal failure is already on the record (run_record); this catches
    an attempt whose work horse died (killed, out of memory), which RQ finds abandoned later."""
    record_id = int(job.id.rsplit("-", 1)[1])
    with _app().app_context():
        _fresh_connections()
        try:
            record = db.session.get(JobRecord, record_id)
            if record is not None and record.state == STARTED:
                abandoned = exc_value is None or isinstance(exc_value, AbandonedJobError)
                state = RETRYING if job.retries_left else FAILED
                _settle(record_id, state, ABANDONED if abandoned else str(exc_value))
        finally:
            db.session.remove()
