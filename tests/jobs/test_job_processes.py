"""Real job processes over Redis: a worker killed mid-sync loses nothing; two schedulers run a slot once."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from rq.registry import StartedJobRegistry
from sqlalchemy import func, select
from sync_factories import package

from portal.catalogue.models import PUBLISHED, Dataset
from portal.extensions import db
from portal.jobs import queue, schedules
from portal.jobs.models import FINISHED, JobRecord
from portal.sync import jobs as sync_jobs
from portal.sync import lock
from portal.sync.models import RUNNING, SUCCEEDED, SyncRun

PACKAGES = 3000  # enough for the sync to be caught in the middle


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        db.session.commit()  # see what the other processes committed
        db.session.expire_all()
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def dump_package(n: int) -> dict:
    """A package as `ckanapi dump` writes it (the organization inline)."""
    organization = {"id": "org-jx-tj", "name": "jx-tjj", "title": "嘉兴市统计局"}
    modified = f"2026-03-01T10:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}"
    return package(n, organization=organization, metadata_modified=modified, metadata_created=modified)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_a_worker_killed_in_the_middle_of_a_sync_loses_nothing(
    app, redis_url, redis_conn, flask_process, tmp_path
):
    app.config.update(REDIS_URL=redis_url, JOB_RETRY_INTERVALS=(0,))
    dump = tmp_path / "dump.jsonl"
    lines = [json.dumps(dump_package(n), ensure_ascii=False) for n in range(1, PACKAGES + 1)]
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = sync_jobs.start(str(dump), full=False, mirror=False)
    record = sync_jobs.enqueue(started, str(dump), full=False, mirror=False)
    settings = {"REDIS_URL": redis_url, "JOB_RETRY_INTERVALS": "0"}
    worker = flask_process("worker", **settings)

    written = select(func.count()).select_from(Dataset)  # committed one by one; the run's counters every 5 s
    wait_for(lambda: db.session.scalar(written) >= 20, 60, "the sync to get going")
    horses = children(worker.pid)
    for pid in [worker.pid, *horses]:  # kill -9: no clean-up of any kind
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    halfway = db.session.get(SyncRun, started.id)
    assert halfway.status == RUNNING and 0 < db.session.scalar(written) < PACKAGES
    assert db.session.get(JobRecord, record.id).state == "started"

    # RQ's maintenance (every live worker runs it) finds the attempt abandoned once its heartbeat
    # has expired; here we let that time pass at once instead of waiting out the minute.
    StartedJobRegistry("sync", connection=redis_conn).cleanup(timestamp=time.time() + 3600)
    replacement = flask_process("worker", "--burst", **settings)
    assert replacement.wait(timeout=240) == 0

    db.session.expire_all()
    finished = db.session.get(SyncRun, started.id)
    assert finished.status == SUCCEEDED
    assert (
        db.session.scalar(select(func.count()).select_from(Dataset).where(Dataset.state == PUBLISHED))
        == PACKAGES
    )
    assert lock.holder() is None
    job = db.session.get(JobRecord, record.id)
    assert (job.state, job.attempts) == (FINISHED, 2)
    rollups = db.session.scalars(select(JobRecord).where(JobRecord.name == "metrics.rollup")).all()
    assert [r.state for r in rollups] == [FINISHED]  # what follows a sync ran once, after it


def test_two_schedulers_enqueue_each_slot_once_and_the_follower_takes_over(
    app, redis_url, redis_conn, flask_process
):
    app.config["REDIS_URL"] = redis_url
    settings = {
        "REDIS_URL": redis_url,
        "JOB_SCHEDULES": json.dumps({"tick": {"job": "metrics.rollup", "every": 1}}),
    }
    first = flask_process("scheduler", "--lease", "2", "--tick", "0.1", **settings)
    second = flask_process("scheduler", "--lease", "2", "--tick", "0.1", **settings)

    def ticks() -> int:
        return db.session.scalar(
            select(func.count()).select_from(JobRecord).where(JobRecord.name == "metrics.rollup")
        )

    wait_for(lambda: ticks() >= 2, 30, "the first ticks")
    began, count_then = time.monotonic(), ticks()
    time.sleep(4)
    during = ticks() - count_then
    assert 3 <= during <= 5, f"{during} jobs in 4 s with two schedulers on a 1 s schedule"

    leader = redis_conn.get(schedules.LEADER_KEY).decode()
    pid = int(leader.split(":")[1])
    assert pid in (first.pid, second.pid)
    os.killpg(pid, signal.SIGKILL)  # the leader dies without resigning
    killed_at = ticks()
    wait_for(lambda: ticks() >= killed_at + 2, 15, "the follower to take over")
    follower = redis_conn.get(schedules.LEADER_KEY).decode()
    assert int(follower.split(":")[1]) != pid
    assert time.monotonic() - began < 30
    for process in (first, second):
        if process.pid != pid:
            process.terminate()  # resigns and stops
            assert process.wait(timeout=10) == 0
    handed = select(func.count()).select_from(JobRecord).where(JobRecord.rq_id.is_not(None))
    db.session.expire_all()
    # each recorded job waits in the queue once; the killed leader may have recorded one it had no time to
    # hand over, which the next leader hands over a minute later (queue.requeue_stranded)
    assert queue.depths()["default"] == db.session.scalar(handed) >= ticks() - 1
    assert redis_conn.get(schedules.LEADER_KEY) is None
