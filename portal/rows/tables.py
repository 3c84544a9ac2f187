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


class Table(NamedTuple):
    """A row table the caller may read: its name, fields and rows, and (SQLite) whether it has its FTS5
    table."""

    table_name: str
    fields: tuple[store.Field, ...]
    records: int
    text_index: bool | None


def locate(
    session: Session, ckan_id: str, *, dataset_name: str | None = None, text_index: bool = False
) -> Located:
    """Read the resource `ckan_id` with its dataset and row table in one statement: by its CKAN id alone,
    or within the dataset named `dataset_name` (the dataset is then found even without the resource).
    `text_index` asks SQLite whether the table has its FTS5 table too (a full-text search needs it)."""
    conn = session.connection()
    statement = _locating(dataset_name is not None, text_index and conn.dialect.name == "sqlite")
    params = {"ref": ckan_id, "name": dataset_name}
    if conn.dialect.name == "postgresql" and _bound_as_is():
        row = _on_driver(conn, statement, params)
    else:  # the driver's cursor too, with the engine's hooks (dbtimeout's bound) run as SQLAlchemy's
        found = direct.rows(conn, statement, params)
        row = found[0] if found else None
    if row is None:
        return Located(None)
    dataset = Holder(*row[:4]) if row[0] is not None else None
    return Located(dataset, *row[4:])


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
    return Table(found.table_name, fields_of(found.columns), found.records, found.text_index)


@functools.lru_cache(maxsize=512)
def fields_of(columns: str) -> tuple[store.Field, ...]:
    """The fields of a row table's columns as stored (JSON text): parsed once per process and shape."""
    return tuple(store.Field.from_dict(c) for c in json.loads(columns))


@functools.lru_cache(maxsize=8)
def _locating(in_dataset: bool, text_index: bool) -> sa.Select:
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
    if text_index:
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
