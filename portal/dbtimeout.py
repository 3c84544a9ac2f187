"""Bound the time one SQL statement may take while it serves a web request.

DB_STATEMENT_TIMEOUT_MS (0: no bound) applies to statements run in a request, never to the
CLI, the sync or background jobs, which may legitimately run long. PostgreSQL enforces it
itself (`statement_timeout`, set on each pooled connection as it is checked out for a
request, and reset for other work); SQLite has no such setting, so a progress handler
aborts a statement past its deadline. Either way the statement fails with an
OperationalError that `is_timeout` recognises, and the error handlers answer 503 with
a clear message instead of a worker hanging on one query.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, current_app, has_request_context
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import OperationalError

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
    token = _unbounded.set(True)
    postgres = connection.dialect.name == "postgresql"
    if postgres:  # in the transaction: a rollback restores the bound as well
        connection.exec_driver_sql("SELECT set_config('statement_timeout', '0', false)")
    try:
        yield
    finally:
        _unbounded.reset(token)
    if postgres:
        bound = str(_request_bound())
        connection.exec_driver_sql(
            "SELECT set_config('statement_timeout', %(bound)s, false)", {"bound": bound}
        )


def _request_bound() -> int:
    """The bound in milliseconds for a statement run now: the setting in a request, else 0."""
    if not has_request_context() or _unbounded.get():
        return 0
    return max(0, int(current_app.config.get("DB_STATEMENT_TIMEOUT_MS") or 0))


@event.listens_for(Engine, "connect")
def _watch_sqlite(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        deadline = _Deadline()
        connection_record.info["deadline"] = deadline
        dbapi_connection.set_progress_handler(deadline.passed, PROGRESS_STEPS)


@event.listens_for(Engine, "before_cursor_execute")
def _start_clock(conn, cursor, statement, parameters, context, executemany) -> None:
    deadline = conn.info.get("deadline")
    if deadline is not None:
        bound = _request_bound()
        deadline.at = time.monotonic() + bound / 1000 if bound else None


@event.listens_for(Engine, "checkout")
def _set_postgres_timeout(dbapi_connection, connection_record, connection_proxy) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    bound = _request_bound()
    if connection_record.info.get("statement_timeout", 0) == bound:
        return
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", (str(bound),))
    dbapi_connection.commit()  # outside any transaction the session will roll back
    connection_record.info["statement_timeout"] = bound


def init_app(app: Flask) -> None:
    """Check the setting once, at start-up."""
    bound = app.config.get("DB_STATEMENT_TIMEOUT_MS")
    if not isinstance(bound, int) or bound < 0:
        raise ValueError("DB_STATEMENT_TIMEOUT_MS must be a whole number of milliseconds, 0 for none")
