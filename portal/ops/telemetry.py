"""Prometheus metrics: request latency per endpoint, and the state of jobs, queues, the sync and the rollup.

Request metrics are kept by each process; under gunicorn set PROMETHEUS_MULTIPROC_DIR (an empty folder
per start, see deploy/) and prometheus-client aggregates every worker's files on each scrape. Job,
queue and lag figures are read from the database and Redis at scrape time, so every node reports the
whole cluster's (a Prometheus query takes one node's, or the max).
"""

from __future__ import annotations

import os
import time

from flask import Flask
from flask.globals import _cv_app, _cv_request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY
from sqlalchemy import func, select

REQUEST_SECONDS = Histogram(
    "portal_request_duration_seconds",
    "Time to answer a request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS = Counter(
    "portal_requests", "Requests answered, by endpoint, method and status.", ["endpoint", "method", "status"]
)
RECENT = 24 * 3600  # job durations are summed over the last day


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer() -> None:
    # g's dict, without its proxy's calls and its __setattr__ (issue 20)
    _cv_app.get().g.__dict__["request_started"] = time.perf_counter()


def _observe(response):
    started = getattr(_cv_app.get().g, "request_started", None)
    if started is not None:
        req = _cv_request.get().request
        endpoint = req.url_rule.endpoint if req.url_rule is not None else "unmatched"
        timer, counter = _series(endpoint, req.method, response.status_code)
        timer.observe(time.perf_counter() - started)
        counter.inc()
    return response


_SERIES: dict[tuple[str, str, int], tuple] = {}
MAX_SERIES = 5000  # beyond it (methods made up by clients), series are looked up each time


def _series(endpoint: str, method: str, status: int) -> tuple:
    """Return the latency and count series of one endpoint, method and status, kept once looked up:
    prometheus-client's labels() checks and joins its label values again on every call (issue 20)."""
    key = (endpoint, method, status)
    found = _SERIES.get(key)
    if found is None:
        found = (REQUEST_SECONDS.labels(endpoint, method), REQUESTS.labels(endpoint, method, str(status)))
        if len(_SERIES) < MAX_SERIES:
            _SERIES[key] = found
    return found


class StateCollector:
    """Figures read at scrape time: `read()` returns them; each failed part is left out, not raised."""

    def __init__(self, read) -> None:
        self.read = read

    def collect(self):
        yield from self.read()


def exposition(state) -> bytes:
    """The text of /metrics: this node's request metrics (all its workers') and the cluster's state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    current = CollectorRegistry(auto_describe=False)
    current.register(StateCollector(state))
    return generate_latest(processes) + generate_latest(current)


def cluster_state(session, *, now, queue_depths, redis_up: bool | None):
    """The families of job, queue, sync and rollup figures (a generator for StateCollector)."""
    from portal.jobs.models import FINISHED, JobRecord
    from portal.metrics.models import DailyTotal
    from portal.sync.models import SyncSource

    jobs = GaugeMetricFamily(
        "portal_jobs", "Recorded background jobs by job and state.", labels=["job", "state"]
    )
    for name, state, count in session.execute(
        select(JobRecord.name, JobRecord.state, func.count()).group_by(JobRecord.name, JobRecord.state)
    ):
        jobs.add_metric([name, state], count)
    yield jobs
    durations = SummaryMetricFamily(
        "portal_job_duration_seconds", "Run time of the jobs finished in the last day.", labels=["job"]
    )
    since = now.timestamp() - RECENT
    by_job: dict[str, list[float]] = {}
    for name, started, finished in session.execute(
        select(JobRecord.name, JobRecord.started_at, JobRecord.finished_at).where(
            JobRecord.state == FINISHED, JobRecord.started_at.is_not(None), JobRecord.finished_at.is_not(None)
        )
    ):
        if finished.timestamp() >= since:
            by_job.setdefault(name, []).append((finished - started).total_seconds())
    for name, seconds in by_job.items():
        durations.add_metric([name], count_value=len(seconds), sum_value=sum(seconds))
    yield durations
    if redis_up is not None:
        yield GaugeMetricFamily(
            "portal_redis_up", "1 when Redis answers, 0 when jobs are delayed.", value=int(redis_up)
        )
    if queue_depths:
        depth = GaugeMetricFamily("portal_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        for name, count in queue_depths.items():
            depth.add_metric([name], count)
        yield depth
    watermark = session.scalar(select(func.max(SyncSource.watermark)))
    if watermark is not None:
        yield GaugeMetricFamily(
            "portal_sync_lag_seconds",
            "Now minus the newest sync watermark.",
            value=(now - watermark).total_seconds(),
        )
    rolled = session.scalar(select(func.max(DailyTotal.rolled_up_at)))
    if rolled is not None:
        yield GaugeMetricFamily(
            "portal_rollup_lag_seconds",
            "Now minus the latest metrics rollup.",
            value=(now - rolled).total_seconds(),
        )
