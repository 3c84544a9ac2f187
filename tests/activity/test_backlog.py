"""Activity events written behind the request: batched, bounded, retried, never lost on a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError
from testconfig import ON_POSTGRES

from portal.activity import backlog as backlogs
from portal.activity.backlog import Backlog
from portal.activity.events import BACKLOG
from portal.activity.models import ActivityEvent
from portal.clock import day_of
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.metrics import rollup
from portal.metrics.models import DailyActivity, DailyTotal

ROOT = Path(__file__).resolve().parents[2]
BROWSER = {"User-Agent": "Mozilla/5.0 Firefox"}
WAIT = 30  # seconds a test waits for a writer thread before it fails (never reached when it works)


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(f"portal_activity_{name}_total") or 0.0


def rows(n: int) -> list[dict]:
    return [{"n": i} for i in range(n)]


def page_views() -> int:
    db.session.rollback()  # a fresh snapshot: the writer commits on a connection of its own
    return db.session.scalar(select(func.count()).where(ActivityEvent.kind == "page_view"))


def test_a_full_batch_is_written_by_the_writer_thread_in_one_call():
    written: list[list[dict]] = []
    done = threading.Event()

    def write(batch):
        written.append(batch)
        done.set()

    backlog = Backlog(write, batch=3, interval=60, capacity=10)  # only a full batch wakes the writer
    for row in rows(3):
        assert backlog.add(row) is True
    assert done.wait(WAIT)
    assert written == [rows(3)] and len(backlog) == 0


def test_events_wait_at_most_the_interval_when_no_batch_fills():
    done = threading.Event()
    backlog = Backlog(lambda batch: done.set(), batch=100, interval=0.05, capacity=1000)
    backlog.add({"n": 1})
    assert done.wait(WAIT)


def test_a_stalled_database_bounds_the_backlog_and_counts_what_is_dropped_on_metrics(client):
    release, entered = threading.Event(), threading.Event()
    written: list[dict] = []

    def stalled(batch):
        entered.set()
        assert release.wait(WAIT)  # the database answers only when the test says so
        written.extend(batch)

    dropped_before = counted("events_dropped")
    backlog = Backlog(stalled, batch=5, interval=0, capacity=10)
    backlog.add({"n": -1})
    assert entered.wait(WAIT)  # the writer is stuck in the database with one event
    accepted = [backlog.add(row) for row in rows(100)]  # add takes no lock the writer holds
    assert accepted.count(True) == 10 and len(backlog) == 10
    assert counted("events_dropped") - dropped_before == 90
    client.drains_activity = False  # a drain would wait for the stalled writer
    assert "portal_activity_events_dropped_total" in client.get("/metrics").get_data(as_text=True)
    release.set()
    backlog.flush()
    assert [r["n"] for r in written] == [-1, *range(10)] and len(backlog) == 0


def test_a_batch_that_fails_is_tried_again_in_order():
    calls: list[list[int]] = []

    def flaky(batch):
        calls.append([r["n"] for r in batch])
        if len(calls) == 1:
            raise OSError("the database went away")

    failures_before = counted("write_failures")
    backlog = Backlog(flaky, batch=2, interval=60, capacity=10)
    for row in rows(3):
        backlog.add(row)
    backlog.flush()  # the writer thread may run too: flushes take turns, in order
    backlog.flush()
    assert calls == [[0, 1], [0, 1], [2]] and len(backlog) == 0
    assert counted("write_failures") - failures_before == 1


def test_a_batch_the_database_refuses_is_written_event_by_event_and_only_the_refused_one_dropped():
    """A row the database can never store (a NUL in PostgreSQL text, a broken constraint) must not hold
    every later event behind it, tried forever: the others are written, the bad one counted as rejected."""
    written: list[int] = []

    def strict(batch):
        if any(r["n"] == 1 for r in batch):
            raise IntegrityError("INSERT INTO activity_events", {}, Exception("refused"))
        written.extend(r["n"] for r in batch)

    rejected_before = counted("events_rejected")
    backlog = Backlog(strict, batch=3, interval=60, capacity=10)
    for row in rows(5):
        backlog.add(row)
    backlog.flush()
    assert sorted(written) == [0, 2, 3, 4] and len(backlog) == 0
    assert counted("events_rejected") - rejected_before == 1


def test_a_refused_batch_that_then_meets_an_unreachable_database_keeps_the_rest_in_order():
    calls: list[list[int]] = []

    def refuses_then_goes_away(batch):
        calls.append([r["n"] for r in batch])
        if len(calls) == 1:
            raise IntegrityError("INSERT INTO activity_events", {}, Exception("refused"))
        if len(calls) == 3:
            raise OSError("the database went away")

    backlog = Backlog(refuses_then_goes_away, batch=3, interval=60, capacity=10)
    for row in rows(3):
        backlog.add(row)
    backlog.flush()  # the batch, then event 0 alone, then event 1 meets the outage: 1 and 2 wait
    assert calls == [[0, 1, 2], [0], [1]] and len(backlog) == 2
    backlog.flush()
    assert calls[-1] == [1, 2] and len(backlog) == 0


def test_an_event_the_table_cannot_store_does_not_stop_the_others(app):
    """Through the real writer and table: a value past its column's constraint (a NULL kind) is refused."""
    backlog = app.extensions[BACKLOG]
    backlog.flush()
    before = db.session.scalar(select(func.count()).select_from(ActivityEvent))
    good = {"occurred_at": utcnow(), "kind": "page_view", "path": "/a", "visitor_hash": "v", "is_bot": False}
    for row in (good, {**good, "kind": None}, {**good, "path": "/b"}):
        backlog.add(row)
    backlog.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ActivityEvent)) == before + 2
    assert len(backlog) == 0


def test_a_forked_child_starts_with_an_empty_backlog():
    backlog = Backlog(lambda batch: None, batch=100, interval=60, capacity=1000)
    backlog.add({"n": 1})
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its parent's event is the parent's to write
        os.write(writer, str(len(backlog)).encode())
        os._exit(0)
    os.close(writer)
    assert os.read(reader, 10) == b"0"
    os.waitpid(pid, 0)
    assert len(backlog) == 1


def test_a_page_view_adds_no_statement_to_its_request(app, client):
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    app.extensions[BACKLOG].interval = 600  # the writer waits: what runs now is the request's own
    client.drains_activity = False
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert client.get("/", headers=BROWSER).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements and not any("activity_events" in s for s in statements)
    assert len(app.extensions[BACKLOG]) == 1
    backlogs.drain_all()
    assert page_views() == 1


def test_the_rollup_counts_events_written_behind(app, client):
    for path in ["/", "/datasets/", "/datasets/?q=交通", "/"]:
        assert client.get(path, headers=BROWSER).status_code == 200
    client.get("/", headers={"User-Agent": "Googlebot/2.1"})
    backlogs.drain_all()
    now = utcnow()
    rollup.roll_up(now=now)
    total = db.session.get(DailyTotal, day_of(now))
    assert (total.events, total.bot_events, total.visitors) == (4, 1, 1)
    today = select(DailyActivity.kind, DailyActivity.events).where(DailyActivity.day == day_of(now))
    kinds = dict(db.session.execute(today).all())
    assert kinds == {"page_view": 3, "search": 1}


def test_pages_answer_while_the_events_table_is_locked_and_their_events_follow(app, client):
    """The lock stands for a database too slow to write: requests must not wait for it."""
    if ON_POSTGRES:
        connection = db.engine.connect()
        transaction = connection.begin()
        connection.execute(text("LOCK TABLE activity_events IN EXCLUSIVE MODE"))  # reads go on
    else:
        raw = sqlite3.connect(db.engine.url.database, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")  # SQLite locks the whole database for writers
    client.drains_activity = False  # draining after each request would wait for the lock
    try:
        for _ in range(3):
            assert client.get("/", headers=BROWSER).status_code == 200
        assert page_views() == 0
    finally:
        if ON_POSTGRES:
            transaction.rollback()
            connection.close()
        else:
            raw.execute("ROLLBACK")
            raw.close()
    backlogs.drain_all()
    assert page_views() == 3


WSGI = """
from testconfig import app_config
from portal import create_app

app = create_app({{
    **app_config({url!r}, {instance!r}),
    "ACTIVITY_FLUSH_MS": 600_000,  # nothing is written before the stop, unless the stop writes it
    "ACTIVITY_BATCH_SIZE": 1000,
}})
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("worker_class", ["sync", "gthread", "portal.serving.BalancedThreadWorker"])
def test_gunicorn_workers_write_their_events_when_they_stop_cleanly(
    app, database_url, tmp_path, worker_class
):
    (tmp_path / "events_wsgi.py").write_text(
        WSGI.format(url=database_url, instance=str(tmp_path / "instance")), encoding="utf-8"
    )
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "tests"), str(ROOT)])}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-k",
            worker_class,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "events_wsgi:app",
        ],  # fmt: skip
        cwd=tmp_path,
        env=env,
    )
    try:
        _wait_until_serving(port)
        for _ in range(6):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/", headers={**BROWSER, "Host": "localhost"}
            )
            assert urllib.request.urlopen(request, timeout=30).status == 200
        assert page_views() == 0  # still waiting in the workers' backlogs
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert page_views() == 6


def _wait_until_serving(port: int) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            threading.Event().wait(0.1)
    raise AssertionError("gunicorn did not start")
