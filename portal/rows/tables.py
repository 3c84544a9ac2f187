"""Find the loaded rows a caller may read: the resource's row table, its dataset, and the rules.

A resource's rows exist here while its dataset is published, the resource active and its rows loaded.
Reading them follows the download rule (catalogue/permissions.py): everyone for an open dataset, admins
and developers with an approved request for a conditional one.
"""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

import psycopg
import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal import dbtimeout
from portal.catalogue import permissions, rules
from portal.catalogue.models import Dataset, Resource
from portal.rows import direct, store
from portal.rows.models import READY, RowTable


class NotFound(Exception):
    """No rows to read under that name (no such resource, withdrawn, or not loaded)."""


class Denied(Exception):
    """The rows exist but the caller may not read them (a conditional dataset without a grant)."""


def fields(row_table: RowTable) -> list[store.Field]:
    return [store.Field.from_dict(c) for c in row_table.columns]


# -- the API's reads: one light statement per call --------------------------------------------------
#
# A rows call (datastore_search, /api/v1/…/rows) needs a few values of the resource, its dataset and its
# row table. Loading them as three ORM objects in two or three statements was a third of a call's own
# Python; `locate` reads them in one statement built once, without the ORM, every call (nothing is kept
# between calls, so a dataset withdrawn or a table reloaded a moment ago is seen at once).
# On PostgreSQL it runs on the driver's cursor (`_on_driver`): a statement's SQLAlchemy execution is a
# few percent of a call's CPU.


class Holder(NamedTuple):
    """The dataset of a located resource, as the download rule (catalogue/permissions.py) reads it."""

    id: int
    state: str
    withdrawn_reason: str | None
    open_condition: str

    @property
    def is_published(self) -> bool:
        return rules.is_published(self)


class Located(NamedTuple):
    """What `locate` found: the dataset (None when there is none by that name) and, when there is one,
    the resource (its id, CKAN id, state) and its row table (name, status, columns as stored)."""

    dataset: Holder | None
    resource_id: int | None = None
    ckan_id: str | None = None
    resource_state: str | None = None
    table_name: str | None = None
    status: str | None = None
    records: int | None = None
    columns: str | None = None  # the row table's columns, JSON text as stored
    text_index: bool | None = None  # SQLite, asked with `text_index`: whether its FTS5 table exists
    text_start: tuple | None = None  # PostgreSQL, asked with `text_index`: (stamp, tally, scans), see Table


class Table(NamedTuple):
    """A row table the caller may read: its name, fields and rows, and (SQLite) whether it has its FTS5
    table. PostgreSQL, with `text_index` asked, `text_start` is what query.Search.text_start holds: (its
    rows, the stamp of its statistics (when it was loaded and analyzed; None before it was analyzed), its
    text index's (tally, scans) then (None without such an index))."""

    table_name: str
    fields: tuple[store.Field, ...]
    records: int
    text_index: bool | None
    text_start: tuple | None = None


def locate(
    session: Session, ckan_id: str, *, dataset_name: str | None = None, text_index: bool = False
) -> Located:
    """Read the resource `ckan_id` with its dataset and row table in one statement: by its CKAN id alone,
    or within the dataset named `dataset_name` (the dataset is then found even without the resource).
    `text_index` asks what a full-text search reads with the table (see _locating)."""
    conn = session.connection()
    statement = _locating(dataset_name is not None, conn.dialect.name if text_index else None)
    params = {"ref": ckan_id, "name": dataset_name, "settle": STATISTICS_SETTLE_SECONDS}
    if conn.dialect.name == "postgresql" and _bound_as_is():
        row = _on_driver(conn, statement, params)
    else:  # the driver's cursor too, with the engine's hooks (dbtimeout's bound) run as SQLAlchemy's
        found = direct.rows(conn, statement, params)
        row = found[0] if found else None
    if row is None:
        return Located(None)
    dataset = Holder(*row[:4]) if row[0] is not None else None
    if len(row) == 14:  # PostgreSQL's text start: (stamp, tally, scans)
        return Located(dataset, *row[4:11], None, row[11:])
    return Located(dataset, *row[4:])


STATISTICS_SETTLE_SECONDS = 10.0  # after an ANALYZE, before the planner's estimates are kept (_locating)


def _bound_as_is() -> bool:
    """Whether a statement run now needs no bound of its own: dbtimeout's hook, which `_on_driver`
    bypasses, lowers PostgreSQL's statement_timeout only once the request's budget left is shorter than
    the statement bound (never at a call's start, where `locate` runs, with the settings as shipped)."""
    left = dbtimeout.remaining_ms()  # None: no budget, or no request (the hook sets nothing either)
    if left is None:
        return True
    bound = int(current_app.config.get("DB_STATEMENT_TIMEOUT_MS") or 0)
    return bound != 0 and left >= bound


def _on_driver(conn: sa.Connection, statement: sa.Select, params: dict) -> tuple | None:
    """PostgreSQL: the locating statement's row read on the driver's cursor, in the session's transaction
    as SQLAlchemy would run it (psycopg opens it, and prepares the statement after a few calls), without
    SQLAlchemy's execution and result objects: some 170 Python calls of a rows call's ~3,200 (issue 16).
    Its columns are integers and texts, which SQLAlchemy would give as the driver does."""
    sql = _compiled(statement, conn.dialect)
    try:
        with conn.connection.driver_connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except psycopg.Error as exc:  # as SQLAlchemy raises it (a timeout: dbtimeout.is_timeout, a 503)
        raise sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error) from exc


@functools.lru_cache(maxsize=8)
def _compiled(statement: sa.Select, dialect: sa.Dialect) -> str:
    return str(statement.compile(dialect=dialect))


def readable_table(found: Located, user) -> Table:
    """Return the located row table for `user` (Flask-Login's anonymous user too); raise NotFound when the
    resource, its dataset or its rows are not there to read, Denied when the download rule says no."""
    dataset = found.dataset
    if dataset is None or found.resource_id is None or found.resource_state != "active":
        raise NotFound()
    if not dataset.is_published or found.status != READY:
        raise NotFound()
    if not permissions.can_download_dataset(user, dataset):
        raise Denied()
    start = None
    if found.text_start is not None:
        stamp, *before = found.text_start
        start = (found.records, stamp, None if None in before else tuple(before))
    return Table(found.table_name, fields_of(found.columns), found.records, found.text_index, start)


@functools.lru_cache(maxsize=512)
def fields_of(columns: str) -> tuple[store.Field, ...]:
    """The fields of a row table's columns as stored (JSON text): parsed once per process and shape."""
    return tuple(store.Field.from_dict(c) for c in json.loads(columns))


@functools.lru_cache(maxsize=8)
def _locating(in_dataset: bool, text_for: str | None) -> sa.Select:
    """The locating statement; `text_for` (a dialect's name) adds what a full-text search there reads
    with the table: SQLite whether its FTS5 table exists; PostgreSQL the stamp of the table's statistics
    (when it was loaded and last analyzed, query._estimate) and its text index's tally and scans so far
    (query._tallied_page), which a search then need not read in a round trip of its own."""
    resources, datasets, row_tables = Resource.__table__, Dataset.__table__, RowTable.__table__
    columns = [
        datasets.c.id,
        datasets.c.state,
        datasets.c.withdrawn_reason,
        datasets.c.open_condition,
        resources.c.id,
        resources.c.ckan_id,
        resources.c.state,
        row_tables.c.table_name,
        row_tables.c.status,
        row_tables.c.records,
        sa.cast(row_tables.c.columns, sa.Text),  # the text itself: parsed once per shape (fields_of)
    ]
    if text_for == "postgresql":

        def text(value: str) -> sa.ColumnElement:  # in the SQL itself: no parameter to bind (_on_driver)
            return sa.literal_column(f"'{value}'", sa.Text)

        qualified = text(f'{store.SCHEMA}."') + row_tables.c.table_name
        table = sa.func.to_regclass(qualified + text('"'))
        index = sa.func.to_regclass(qualified + text('_search_idx"'))  # query._index_name's
        analyzed = sa.func.greatest(
            sa.func.pg_stat_get_last_analyze_time(table),
            sa.func.pg_stat_get_last_autoanalyze_time(table),
            type_=sa.DateTime(timezone=True),
        )
        # the statistics' stamp (query._estimate): NULL until the table was analyzed, and for some seconds
        # after (STATISTICS_SETTLE_SECONDS), as ANALYZE tells its time before its transaction commits the
        # statistics themselves
        age = sa.extract("epoch", sa.func.now() - analyzed)
        settled = sa.case((age > sa.bindparam("settle", type_=sa.Float), analyzed))
        columns.append(sa.cast(row_tables.c.loaded_at, sa.Text) + text("/") + sa.cast(settled, sa.Text))
        columns.append(sa.func.pg_stat_get_xact_tuples_returned(index, type_=sa.BigInteger))
        columns.append(sa.func.pg_stat_get_xact_numscans(index, type_=sa.BigInteger))
    elif text_for == "sqlite":
        master = sa.table("sqlite_master", sa.column("type"), sa.column("name"))
        fts = sa.literal("rows_") + row_tables.c.table_name + sa.literal("_fts")  # store.fts_name's
        columns.append(sa.exists().where(master.c.type == "table", master.c.name == fts))
    ref = sa.bindparam("ref", type_=sa.String)
    if in_dataset:
        joined = datasets.outerjoin(
            resources, sa.and_(resources.c.dataset_id == datasets.c.id, resources.c.ckan_id == ref)
        )
        where = datasets.c.name == sa.bindparam("name", type_=sa.String)
    else:
        joined = resources.join(datasets, datasets.c.id == resources.c.dataset_id)
        where = resources.c.ckan_id == ref
    joined = joined.outerjoin(row_tables, row_tables.c.resource_id == resources.c.id)
    return sa.select(*columns).select_from(joined).where(where)


def loads_since(session: Session, started_at, limit: int = 20) -> list[RowTable]:
    """Return the loads started at or after `started_at`, newest first: a sync run's progress."""
    query = select(RowTable).where(RowTable.started_at >= started_at).order_by(RowTable.started_at.desc())
    return list(session.scalars(query.options(joinedload(RowTable.resource)).limit(limit)))
