"""Run a rows call's statements on the driver's cursor of its connection, as SQLAlchemy would run them.

A rows call (datastore_search, /api/v1/…/rows) runs two to four statements, each built once per shape
(rows/query.py). SQLAlchemy's execution of such a cached statement (its execution context, result
metadata and Row objects) cost some 130 Python calls each, a fifth of a filtered call's Python (issue 16).
Here the statement is compiled once per dialect, and each call binds its values, runs it on a cursor of
the session's own connection (in its transaction) and fetches plain tuples, with what SQLAlchemy would
add kept:

- the engine's `before_cursor_execute` hooks run first, as SQLAlchemy runs them: dbtimeout's among them,
  which bounds the statement (SQLite's deadline, PostgreSQL's statement_timeout lowered to the budget
  left), and any listener that watches the statements (the tests');
- the bind and result processors of the statement's types are applied (SQLite's booleans, for one);
- a driver's error is raised as SQLAlchemy raises it (DBAPIError.instance), so that a statement stopped
  by the bound answers 503 (dbtimeout.is_timeout).

A statement SQLAlchemy would have to rewrite per call (expanding or literal-execute parameters) runs
through SQLAlchemy as before.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import psycopg
import sqlalchemy as sa


class _Prepared(NamedTuple):
    """A statement compiled for a dialect: its SQL, its parameters' order (a positional paramstyle),
    their default values, their bind processors, and the result processors of its columns (None: the
    driver's values are SQLAlchemy's; a list of processors, or None per column; `by_type_code`: they
    depend on the column types the driver reports, as PostgreSQL's numerics' do)."""

    sql: str
    names: tuple[str, ...] | None
    defaults: dict
    binds: tuple[tuple[str, object], ...]
    results: tuple | None
    types: tuple
    by_type_code: bool
    direct: bool  # False: run through SQLAlchemy
    required: frozenset[str]  # parameters without a value of their own: a call must give each


@functools.lru_cache(maxsize=1024)
def _prepared(statement: sa.Executable, dialect: sa.Dialect) -> _Prepared:
    compiled = statement.compile(dialect=dialect)
    direct = not compiled.literal_execute_params and not any(b.expanding for b in compiled.binds.values())
    names = tuple(compiled.positiontup) if compiled.positional else None
    types = tuple(column[3] for column in compiled._result_columns)
    results, by_type_code = None, False
    try:
        processors = tuple(t._cached_result_processor(dialect, None) for t in types)
        if any(p is not None for p in processors):
            results = processors
    except (sa.exc.InvalidRequestError, TypeError):  # the processor depends on the driver's type code
        by_type_code = True
    binds = tuple(compiled._bind_processors.items())
    required = frozenset(key for key, bind in compiled.binds.items() if bind.required)
    return _Prepared(
        compiled.string, names, compiled.params, binds, results, types, by_type_code, direct, required
    )


@functools.lru_cache(maxsize=1024)
def _processors_for(types: tuple, dialect: sa.Dialect, type_codes: tuple) -> tuple | None:
    processors = tuple(t._cached_result_processor(dialect, c) for t, c in zip(types, type_codes, strict=True))
    return processors if any(p is not None for p in processors) else None


def rows(conn: sa.Connection, statement: sa.Executable, params: dict) -> list:
    """The rows of `statement` with `params` (tuples), run on `conn`'s driver cursor."""
    prepared = _prepared(statement, conn.dialect)
    if not prepared.direct:
        return conn.execute(statement, params).all()
    if not prepared.required.issubset(params):  # as SQLAlchemy refuses it, never sent as NULL
        missing = sorted(prepared.required.difference(params))
        raise sa.exc.ArgumentError(f"A value is required for bind parameter {missing[0]!r}")
    values = {**prepared.defaults, **params}
    for name, process in prepared.binds:
        if name in values:
            values[name] = process(values[name])
    arguments = values if prepared.names is None else tuple(values[n] for n in prepared.names)
    found, type_codes = _run(conn, prepared.sql, arguments, prepared.by_type_code)
    processors = prepared.results
    if prepared.by_type_code:
        processors = _processors_for(prepared.types, conn.dialect, type_codes)
    if processors is None:
        return found
    return [tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True)) for row in found]


def scalar(conn: sa.Connection, statement: sa.Executable, params: dict) -> object:
    """The one value of a statement's one row (a count), as `.scalar_one()` reads it."""
    (row,) = rows(conn, statement, params)
    return row[0]


def sql_rows(conn: sa.Connection, sql: str, params: dict) -> list:
    """The rows of driver SQL (`exec_driver_sql`'s: the driver's paramstyle, no processing)."""
    return _run(conn, sql, params, False)[0]


@contextmanager
def sent_at_once(conn: sa.Connection, sql: str, params: dict) -> Iterator:
    """PostgreSQL: several statements sent at once (`sql`, parameters bound on the client: psycopg's
    ClientCursor, the simple query protocol), in the connection's transaction, after the engine's
    `before_cursor_execute` hooks as for any statement here (dbtimeout's, which lowers the bound to the
    request's budget left; the tests' listeners): lend the cursor to read their results. A driver's error,
    also while reading, is raised as SQLAlchemy raises it (a timeout: dbtimeout.is_timeout, a 503)."""
    if not conn.in_transaction():
        conn.begin()
    cursor = psycopg.ClientCursor(conn.connection.driver_connection)
    try:
        for hook in conn.dispatch.before_cursor_execute:
            sql, params = hook(conn, cursor, sql, params, None, False)
        cursor.execute(sql, params)
        yield cursor
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
    finally:
        cursor.close()


def _run(conn: sa.Connection, sql: str, arguments, type_codes: bool) -> tuple[list, tuple | None]:
    if not conn.in_transaction():  # as Connection.execute begins one
        conn.begin()
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        for hook in conn.dispatch.before_cursor_execute:  # as SQLAlchemy calls them (dbtimeout's bound)
            sql, arguments = hook(conn, cursor, sql, arguments, None, False)
        cursor.execute(sql, arguments)
        found = cursor.fetchall()
        codes = tuple(d[1] for d in cursor.description) if type_codes else None
        return found, codes
    except dbapi.Error as exc:  # as SQLAlchemy raises it (a timeout: dbtimeout.is_timeout, a 503)
        raise sa.exc.DBAPIError.instance(sql, arguments, exc, dbapi.Error) from exc
    finally:
        cursor.close()
