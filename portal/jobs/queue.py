"""Enqueue a job: to RQ over Redis when REDIS_URL is set, else run it in this process.

Every job is first recorded in `job_records` (committed), so the admin pages show it whichever
process runs it. With Redis, the RQ job carries only the record's id; RQ retries a failed or
abandoned attempt after JOB_RETRY_INTERVALS. If Redis cannot be reached the record stays
"queued" without an RQ id: the scheduler hands such stranded jobs to RQ once Redis is back, so
a job is delayed, never lost. In-process (the embedded default) a job runs once, at once, or in
a daemon thread when `background` is asked for (a web request must not wait for a sync).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import lru_cache

import redis
from flask import Flask, current_app
from rq import Callback, Queue, Retry
from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.jobs import execution, registry
from portal.jobs.models import QUEUED, JobRecord

RQ_PREFIX = "portal-job-"  # RQ job ids are this plus the record's id
STRANDED_AFTER = timedelta(minutes=1)


@lru_cache(maxsize=8)
def connection(url: str) -> redis.Redis:
    """One Redis client (with its own connection pool) per URL and process."""
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=30, health_check_interval=30)


def redis_from_config() -> redis.Redis | None:
    url = current_app.config.get("REDIS_URL")
    return connection(url) if url else None


def enqueue(name: str, *, background: bool = False, thread_name: str | None = None, **params) -> JobRecord:
    """Record the job `name` with its keyword `params` and have it run; return its record.

    Commits the session (the record must be visible to the worker). In-process and not in the
    background, the job has run when this returns; its failure is on the record, not raised.
    """
    kind = registry.kind(name)
    record = JobRecord(name=name, queue=kind.queue, params=params, state=QUEUED)
    db.session.add(record)
    db.session.commit()
    conn = redis_from_config()
    if conn is not None:
        _to_rq(conn, record, kind, current_app.config["JOB_RETRY_INTERVALS"])
    elif background:
        app = current_app._get_current_object()
        threading.Thread(
            target=_in_thread, args=(app, record.id), name=thread_name or f"job-{record.id}", daemon=True
        ).start()
    else:
        execution.run_record(record.id, retries_left=0, reraise=False)
        db.session.refresh(record)
    return record


def _to_rq(conn: redis.Redis, record: JobRecord, kind: registry.Kind, intervals) -> None:
    retry = Retry(max=len(intervals), interval=list(intervals)) if kind.retries and intervals else None
    try:
        Queue(kind.queue, connection=conn).enqueue(
            execution.perform,
            record.id,
            job_id=f"{RQ_PREFIX}{record.id}",
            job_timeout=kind.timeout,
            retry=retry,
            on_failure=Callback(execution.record_failure),
            result_ttl=24 * 3600,
            failure_ttl=30 * 24 * 3600,
        )
    except redis.RedisError as exc:
        current_app.logger.warning("job %s #%s waits: Redis unavailable (%s)", record.name, record.id, exc)
        return
    record.rq_id = f"{RQ_PREFIX}{record.id}"
    db.session.commit()


def _in_thread(app: Flask, record_id: int) -> None:
    with app.app_context():
        try:
            execution.run_record(record_id, retries_left=0, reraise=False)
        finally:
            db.session.remove()


def requeue_stranded(now=None) -> int:
    """Hand to RQ the jobs recorded while Redis was unreachable; return how many. Commits."""
    conn = redis_from_config()
    if conn is None:
        return 0
    cutoff = (now or utcnow()) - STRANDED_AFTER
    stranded = db.session.scalars(
        select(JobRecord).where(
            JobRecord.state == QUEUED, JobRecord.rq_id.is_(None), JobRecord.enqueued_at < cutoff
        )
    ).all()
    for record in stranded:
        _to_rq(conn, record, registry.kind(record.name), current_app.config["JOB_RETRY_INTERVALS"])
    return sum(1 for record in stranded if record.rq_id)


def depths() -> dict[str, int]:
    """Jobs waiting in each RQ queue; raise redis.RedisError when Redis cannot be reached."""
    conn = redis_from_config()
    if conn is None:
        return {}
    return {name: Queue(name, connection=conn).count for name in registry.QUEUES}
