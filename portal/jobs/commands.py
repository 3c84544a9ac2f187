"""`flask --app wsgi worker` and `flask --app wsgi scheduler`: the job processes (with REDIS_URL set)."""

from __future__ import annotations

import os
import socket

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Queue, Worker

from portal.extensions import db
from portal.jobs import execution, queue, registry, schedules


def _redis():
    conn = queue.redis_from_config()
    if conn is None:
        raise click.ClickException(
            "REDIS_URL is not set: jobs run in the app's own processes, no worker needed"
        )
    return conn


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queues", default=",".join(registry.QUEUES), show_default=True, help="Queues to serve, in order."
)
@with_appcontext
def worker_command(burst: bool, queues: str) -> None:
    """Run background jobs from the RQ queues (syncs, rollups, purges, emails …)."""
    conn = _redis()
    app = current_app._get_current_object()
    execution.use_app(app)
    db.session.remove()
    for engine in db.engines.values():  # no database connection crosses a fork into a work horse
        engine.dispose()
    names = [name.strip() for name in queues.split(",") if name.strip()]
    node = app.config.get("NODE_NAME") or socket.gethostname()
    worker = Worker(
        [Queue(name, connection=conn) for name in names], connection=conn, name=f"{node}.{os.getpid()}"
    )
    worker.work(burst=burst, with_scheduler=True)  # RQ's scheduler moves retries due after their backoff


@click.command("scheduler")
@click.option(
    "--lease",
    type=click.IntRange(1, 3600),
    default=schedules.LEASE,
    show_default=True,
    help="Seconds a silent leader stays leader.",
)
@click.option(
    "--tick",
    type=click.FloatRange(0.05, 60),
    default=schedules.TICK,
    show_default=True,
    help="Seconds between looks at the schedules.",
)
@with_appcontext
def scheduler_command(lease: int, tick: float) -> None:
    """Enqueue the jobs of JOB_SCHEDULES on time; safe to run on several machines (one leads)."""
    conn = _redis()
    try:
        scheduler = schedules.from_config(current_app._get_current_object(), conn, lease=lease, tick=tick)
    except schedules.BadSchedule as exc:
        raise click.ClickException(str(exc)) from exc
    scheduler.start()
