"""The scheduler: RQ's cron scheduler, with one leader among however many run, each slot enqueued once.

Every scheduler follows every schedule (JOB_SCHEDULES), so any of them can take over at once; only
the one holding the lease in Redis (LEADER_KEY, renewed each tick, lost LEASE seconds after its
holder stops) enqueues. Each due slot is also claimed in Redis before it is enqueued, so even two
leaders in a hand-over cannot run a slot twice. The leader also hands to RQ the jobs recorded
while Redis was unreachable (`queue.requeue_stranded`).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import socket
import uuid

import redis
from flask import Flask
from rq.cron import CronJob, CronScheduler
from rq.utils import now

from portal.extensions import db
from portal.jobs import execution, queue, registry

LEADER_KEY = "portal:scheduler:leader"
SLOT_KEY = "portal:scheduler:slot:{name}:{slot}"
LEASE = 30  # seconds a leader stays leader without renewing
TICK = 5.0  # seconds between looks at the schedules

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""
_RESIGN = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class BadSchedule(ValueError):
    """A JOB_SCHEDULES entry names no known job or has neither a cron nor an interval."""


class Scheduler(CronScheduler):
    """RQ's CronScheduler whose due jobs go through portal.jobs.queue, enqueued by the leader only."""

    def __init__(self, app: Flask, connection: redis.Redis, *, lease: int = LEASE, tick: float = TICK):
        super().__init__(connection, name=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
        self.app, self.lease, self.tick = app, lease, tick
        self.params: dict[str, tuple[str, dict]] = {}
        self.leading = False
        self._renew = connection.register_script(_RENEW)
        self._resign = connection.register_script(_RESIGN)

    def add(self, name: str, entry: dict) -> CronJob:
        """Follow the schedule `name`: {"job": a job, "cron": "…" or "every": seconds, "params": {}}."""
        job = entry.get("job")
        if job not in registry.KINDS:
            raise BadSchedule(f"schedule {name!r}: no job named {job!r}")
        if not (entry.get("cron") or entry.get("every")):
            raise BadSchedule(f"schedule {name!r}: give a cron expression or every: seconds")
        self.params[name] = (job, dict(entry.get("params") or {}))
        return self.register(
            execution.perform,
            registry.kind(job).queue,
            cron=entry.get("cron"),
            interval=entry.get("every"),
            name=name,
        )

    def lead(self) -> bool:
        """Take or keep the lease; return whether this scheduler leads now."""
        conn = self.connection
        self.leading = bool(conn.set(LEADER_KEY, self.name, nx=True, ex=self.lease)) or bool(
            self._renew(keys=[LEADER_KEY], args=[self.name, self.lease])
        )
        return self.leading

    def resign(self) -> None:
        self._resign(keys=[LEADER_KEY], args=[self.name])
        self.leading = False

    def enqueue_jobs(self) -> list[CronJob]:
        """Enqueue the due slots when leading; follow the schedules either way."""
        try:
            leading = self.lead()
        except redis.RedisError as exc:
            self.log.warning("scheduler %s: Redis unavailable (%s); not leading", self.name, exc)
            leading = self.leading = False
        enqueued = []
        with self.app.app_context():
            try:
                if leading:
                    queue.requeue_stranded()
                for cron_job in self._cron_jobs:
                    if not cron_job.should_run():
                        continue
                    if leading and self._claim(cron_job):
                        name, params = self.params[cron_job.name]
                        queue.enqueue(name, **params)
                        enqueued.append(cron_job)
                    cron_job.set_enqueue_time(now())
            finally:
                db.session.remove()
        return enqueued

    def _claim(self, cron_job: CronJob) -> bool:
        """Claim this slot of the schedule: the same for every scheduler, whoever's clock ticked first."""
        if cron_job.cron:
            slot = int(cron_job.next_enqueue_time.timestamp())
        else:
            slot = math.floor(now().timestamp() / cron_job.interval)
        key = SLOT_KEY.format(name=cron_job.name, slot=slot)
        return bool(self.connection.set(key, self.name, nx=True, ex=7 * 24 * 3600))

    def calculate_sleep_interval(self) -> float:
        return min(super().calculate_sleep_interval(), self.tick)

    def _request_stop(self, signum, frame) -> None:
        """SIGTERM or SIGINT: finish the tick in hand, then stop.

        RQ's own handler raises out of whatever the scheduler is doing; in the middle of a database
        statement that left PostgreSQL's connection busy, and the clean-up's rollback then failed
        and the process exited 1 instead of resigning.
        """
        self._stopping = True
        with contextlib.suppress(OSError):  # a full bell has woken the wait already
            self._bell[1].send(b"\0")  # wakes the wait between ticks

    def start(self) -> None:
        """Tick until a stop signal; resign the lease on the way out so a follower leads at once."""
        self._stopping = False
        self._bell = socket.socketpair()  # a handler may not take locks, so no threading.Event
        self._bell[1].setblocking(False)
        self._install_signal_handlers()
        self.register_birth()
        try:
            while not self._stopping:
                if self.enqueue_jobs():
                    self.save()  # the schedules' next times, for RQ's views
                self.heartbeat()
                if not self._stopping:
                    select.select([self._bell[0]], [], [], max(self.calculate_sleep_interval(), 0))
            self.log.info("scheduler %s: stopped by a signal", self.name)
        finally:
            for end in self._bell:
                end.close()
            try:
                self.register_death()
                self.resign()
            except redis.RedisError:
                pass


def from_config(app: Flask, connection: redis.Redis, **options) -> Scheduler:
    """A scheduler following the app's JOB_SCHEDULES; raise BadSchedule for a wrong entry."""
    scheduler = Scheduler(app, connection, **options)
    for name, entry in app.config["JOB_SCHEDULES"].items():
        if not isinstance(entry, dict):
            raise BadSchedule(f"schedule {name!r}: expected an object")
        scheduler.add(name, entry)
    return scheduler
