"""Jobs: recorded, run in-process without Redis or through RQ with it, retried, visible to admins."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import queue, registry
from portal.jobs.models import FAILED, FINISHED, QUEUED, JobRecord


def records(name: str | None = None) -> list[JobRecord]:
    db.session.expire_all()
    query = select(JobRecord).order_by(JobRecord.id)
    if name:
        query = query.where(JobRecord.name == name)
    return list(db.session.scalars(query))


def work(conn) -> None:
    """Run an RQ worker in this process until the queues are empty (the same code a worker process runs)."""
    SimpleWorker([Queue(name, connection=conn) for name in registry.QUEUES], connection=conn).work(burst=True)


def test_without_redis_a_job_runs_in_process_at_once(app):
    record = queue.enqueue("metrics.rollup")
    assert (record.state, record.attempts, record.rq_id) == (FINISHED, 1, None)
    assert record.started_at <= record.finished_at


def test_without_redis_a_failing_job_is_recorded_with_its_error_and_not_raised(app):
    record = queue.enqueue("metrics.purge_events", days="not a number")
    assert (record.state, record.attempts) == (FAILED, 1)
    assert "TypeError" in record.error


def test_an_unknown_job_is_refused_before_anything_is_recorded(app):
    with pytest.raises(registry.UnknownJob):
        queue.enqueue("no.such.job")
    assert records() == []


def test_with_redis_a_job_waits_in_its_queue_until_a_worker_runs_it(app, redis_url, redis_conn):
    app.config["REDIS_URL"] = redis_url
    record = queue.enqueue("metrics.rollup")
    assert (record.state, record.rq_id) == (QUEUED, f"portal-job-{record.id}")
    assert queue.depths() == {"sync": 0, "default": 1}
    work(redis_conn)
    (done,) = records("metrics.rollup")
    assert (done.state, done.attempts) == (FINISHED, 1)
    assert queue.depths() == {"sync": 0, "default": 0}


def test_a_failing_job_is_retried_then_failed_for_good_with_its_error(app, redis_url, redis_conn):
    app.config.update(REDIS_URL=redis_url, JOB_RETRY_INTERVALS=(0, 0))
    queue.enqueue("metrics.purge_events", days="not a number")
    work(redis_conn)
    (failed,) = records()
    assert (failed.state, failed.attempts) == (FAILED, 3)
    assert "TypeError" in failed.error


def test_a_job_enqueued_while_redis_is_down_waits_and_is_handed_over_later(app, redis_url, redis_conn):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    record = queue.enqueue("metrics.rollup")
    assert (record.state, record.rq_id) == (QUEUED, None)
    app.config["REDIS_URL"] = redis_url
    assert queue.requeue_stranded() == 0  # too fresh: it may still be on its way
    later = record.enqueued_at + queue.STRANDED_AFTER * 2
    assert queue.requeue_stranded(now=later) == 1
    work(redis_conn)
    assert [r.state for r in records()] == [FINISHED]


def test_admins_see_jobs_with_their_state_and_error(app, client, login):
    queue.enqueue("metrics.purge_events", days="not a number")
    queue.enqueue("metrics.rollup")
    login("admin")
    client.set_cookie("lang", "en")
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "metrics.purge_events" in page and "metrics.rollup" in page
    assert "TypeError" in page
    assert "failed" in page and "finished" in page


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 302), ("developer", 403), ("county_member", 403), ("judge", 403), ("admin", 200)],
)
def test_only_admins_open_the_jobs_page(app, client, login, role, status):
    if role:
        login(role)
    assert client.get("/admin/jobs/").status_code == status


def test_a_stop_signal_in_the_middle_of_a_tick_lets_the_tick_finish_then_resigns(
    app, redis_url, redis_conn, monkeypatch
):
    """SIGTERM while the leader is enqueueing: the job is recorded whole, the lease freed, no exception."""
    import os
    import signal

    from portal.jobs import schedules

    app.config["REDIS_URL"] = redis_url
    app.config["JOB_SCHEDULES"] = {"tick": {"job": "metrics.rollup", "every": 1}}
    scheduler = schedules.from_config(app, redis_conn, lease=5, tick=0.05)
    enqueue = queue.enqueue

    def enqueue_while_told_to_stop(name, **params):
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs before the next line
        return enqueue(name, **params)

    monkeypatch.setattr(queue, "enqueue", enqueue_while_told_to_stop)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        scheduler.start()  # returns once the tick in hand is done
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    records = db.session.scalars(select(JobRecord).where(JobRecord.name == "metrics.rollup")).all()
    assert len(records) == 1 and records[0].state == QUEUED
    assert redis_conn.get(schedules.LEADER_KEY) is None
