"""Bound the time the SQL statements of a web request may take, one by one and together.

DB_STATEMENT_TIMEOUT_MS (0: no bound) bounds each statement run in a request, and
DB_REQUEST_BUDGET_MS (0: no bound) all of them together: a request's deadline is its start
plus the budget, and each statement may run for the smaller of the statement bound and what
is left of the budget. A search runs several statements; without the budget each could take
the whole statement bound. Neither applies to the CLI, the sync or background jobs, which may
legitimately run long. PostgreSQL enforces the bound itself (`statement_timeout`, set on each
pooled connection as it is checked out for a request and reset for other work, and lowered
for the rest of the transaction once the budget left is shorter); SQLite has no such setting,
so a progress handler aborts a statement past its deadline. Either way the statement fails
with an OperationalError that `is_timeout` recognises, and the error handlers answer 503 with
a clear message instead of a worker hanging on one query.
"""

from __future__ import annotations

import select
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g
from flask.globals import _cv_app, _cv_request
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError

PROGRESS_STEPS = 20_000  # SQLite virtual-machine steps between deadline checks (well under a millisecond)
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


class _Deadline:
    """When the statement running on one SQLite connection must stop (monotonic seconds), if ever."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() > self.at


def is_timeout(exc: BaseException) -> bool:
    """Tell whether `exc` is a statement stopped by the bound, on either database."""
    if not isinstance(exc, OperationalError):
        return False
    original = exc.orig
    if isinstance(original, sqlite3.OperationalError):
        return str(original) == "interrupted"
    return getattr(original, "sqlstate", None) == QUERY_CANCELED


_unbounded: ContextVar[bool] = ContextVar("statements_unbounded", default=False)


@contextmanager
def unbounded(connection: Connection) -> Iterator[None]:
    """Run the block's statements on `connection` without the bound: work a request happens to
    start for the whole process (the catalogue's facet index), which every later request reuses."""
    token, began = _unbounded.set(True), time.monotonic()
    postgres = connection.dialect.name == "postgresql"
    if postgres:  # in the transaction: a rollback restores the bound as well
        connection.exec_driver_sql("SELECT set_config('statement_timeout', '0', false)")
    try:
        yield
    finally:
        _unbounded.reset(token)
        deadline = _request_deadline()
        if deadline is not None:  # what ran unbounded is not charged to the request's budget
            setattr(g, _DEADLINE, deadline + time.monotonic() - began)
    if postgres:
        bound = str(_request_bound())
        connection.exec_driver_sql(
            "SELECT set_config('statement_timeout', %(bound)s, false)", {"bound": bound}
        )


def _request_bound() -> int:
    """The bound in milliseconds for a statement run now: the setting in a request, else 0. Run before
    each statement: the request and app read from their context variables (has_request_context's and
    current_app's), not through Flask's proxies."""
    if _cv_request.get(None) is None or _unbounded.get():
        return 0
    return max(0, int(_cv_app.get().app.config.get("DB_STATEMENT_TIMEOUT_MS") or 0))


_DEADLINE = "_db_deadline"  # on flask.g: when the request's budget runs out (monotonic seconds)


def _start_request() -> None:
    context = _cv_app.get()  # the app and g without their proxies' calls (issue 20)
    budget = context.app.config.get("DB_REQUEST_BUDGET_MS") or 0
    setattr(context.g, _DEADLINE, time.monotonic() + budget / 1000 if budget else None)


def _request_deadline() -> float | None:
    """When the current request's budget runs out (monotonic seconds), or None."""
    if _cv_request.get(None) is None or _unbounded.get():
        return None
    return _cv_app.get().g.__dict__.get(_DEADLINE)  # g.get's


def remaining_ms() -> int | None:
    """Return the milliseconds left of the current request's budget (at least 1), or None without one."""
    deadline = _request_deadline()
    if deadline is None:
        return None
    return max(1, int((deadline - time.monotonic()) * 1000))


@event.listens_for(Engine, "connect")
def _watch_sqlite(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        deadline = _Deadline()
        connection_record.info["deadline"] = deadline
        dbapi_connection.set_progress_handler(deadline.passed, PROGRESS_STEPS)


def lift_sqlite_deadline(connection) -> None:
    """Clear the deadline a pooled SQLite connection may keep from its last request, for work that runs
    statements on the DBAPI connection itself (`connection`, from engine.raw_connection()), which
    `_start_clock` does not see. PostgreSQL's bound is reset at checkout already."""
    deadline = connection.info.get("deadline")
    if deadline is not None:
        deadline.at = None


class LentCursor:
    """A DBAPI cursor of a connection a request borrowed from the pool (engine.raw_connection()), whose
    statements `_start_clock` does not see: each is bounded as a session's is, SQLite's by the statement
    bound and the budget from its start, PostgreSQL's lowered to the budget left once that is shorter.
    Outside a request nothing is bounded (a past request's SQLite deadline is cleared)."""

    __slots__ = ("cursor", "_deadline", "fetchone", "fetchall")

    def __init__(self, connection) -> None:
        self.cursor = connection.cursor()
        self._deadline = connection.info.get("deadline")  # SQLite's; PostgreSQL's bound is the server's
        self.fetchone, self.fetchall = self.cursor.fetchone, self.cursor.fetchall

    def execute(self, *arguments) -> None:
        if self._deadline is not None:
            self._deadline.at = _sqlite_deadline()
        else:
            lowered = _budget_bound()
            if lowered is not None:
                self.cursor.execute(_LOWER, (lowered,))
        self.cursor.execute(*arguments)

    @property
    def description(self):
        return self.cursor.description

    def close(self) -> None:
        self.cursor.close()


@event.listens_for(Engine, "before_cursor_execute")
def _start_clock(conn, cursor, statement, parameters, context, executemany) -> None:
    deadline = conn.info.get("deadline")
    if deadline is not None:
        deadline.at = _sqlite_deadline()
        return
    lowered = _budget_bound()
    if lowered is not None:
        cursor.execute(_LOWER, (lowered,))


def _sqlite_deadline() -> float | None:
    """When a SQLite statement starting now must stop: the statement bound or the budget, the sooner."""
    bound, end = _request_bound(), _request_deadline()
    at = time.monotonic() + bound / 1000 if bound else None
    return end if at is None else (at if end is None else min(at, end))


_LOWER = "SELECT set_config('statement_timeout', %s, true)"  # for the rest of the transaction


def _budget_bound() -> str | None:
    """PostgreSQL: the statement_timeout to set for the rest of the transaction once the request's budget
    left is shorter than the statement bound (the budget only shrinks), else None."""
    left = remaining_ms()
    if left is not None:
        bound = _request_bound()
        if not bound or left < bound:
            return str(left)
    return None


def lost(dbapi_connection) -> bool:
    """Tell whether the server let go of this idle PostgreSQL connection (its backend terminated, the
    server restarted), without a round trip: a pooled connection runs no statement, so the server has
    nothing to send on it and its socket only reads as ready when the server said goodbye (an error
    and the end of the stream). Anything else the server may send an idle connection (a notice) counts
    as lost too: the pool opens a new one, which is never wrong."""
    if dbapi_connection.closed or getattr(dbapi_connection, "broken", False):
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, TypeError):
        return True


@event.listens_for(Engine, "checkout")
def _set_postgres_timeout(dbapi_connection, connection_record, connection_proxy) -> None:
    """Check out a live PostgreSQL connection with the statement bound for its work (a request's or none).

    This stands for the pool's pre-ping, which asked the server (`;`) at each checkout: a round trip
    (a context switch to the server on a 2-core node) and ~140 Python calls per request. A connection
    the server closed is seen here instead (`lost`), and DisconnectionError makes the pool replace it
    before anyone uses it, as the pre-ping did."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    if lost(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")
    bound = _request_bound()
    if connection_record.info.get("statement_timeout", 0) == bound:
        return
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", (str(bound),))
    dbapi_connection.commit()  # outside any transaction the session will roll back
    connection_record.info["statement_timeout"] = bound


def init_app(app: Flask) -> None:
    """Check the setting once, at start-up."""
    for name in ("DB_STATEMENT_TIMEOUT_MS", "DB_REQUEST_BUDGET_MS"):
        bound = app.config.get(name)
        if not isinstance(bound, int) or isinstance(bound, bool) or bound < 0:
            raise ValueError(f"{name} must be a whole number of milliseconds, 0 for none")
    app.before_request(_start_request)
