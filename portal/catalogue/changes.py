"""The catalogue's cache contract, in one module: what says that the catalogue changed, and
the one way to say it.

Each process caches the costly parts of the catalogue's pages (catalogue/search_cache.py,
the facet index) stamped with the version of the data they were made from:

- the catalogue's *generation*, `generation()`: the newest dataset id and the newest
  change time of any dataset. Text matches, ranked ids, totals, facet counts and the
  facet index are stamped with it.
- a dataset's *version*, `version_of()`: its change time, its download count and its
  rating (count and mean). Result cards and the public part of a dataset page are stamped
  with it.

The contract for writers: whoever writes a dataset, its resources, themes or tags, or its
state, calls `touch` (a statement, for connection-level writers), `mark` (an ORM object)
or `touched` (values of a row it writes anyway) in the same transaction, with a time later
than the previous change, so that the generation moves. A download moves the count and a
rating the rating, which only the dataset's version reads. A 30-second time-to-live on the caches
bounds what a stamp cannot see (a department renamed without its datasets being written).

The change time is the column `datasets.last_synced_at`, named when the sync was the only
writer; nothing outside this module writes it or reads it as a stamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, bindparam, update

from portal import dbtimeout
from portal.catalogue.models import Dataset
from portal.extensions import db

CHANGE_TIME = Dataset.last_synced_at  # the column holding a dataset's change time
_COLUMN = CHANGE_TIME.key

_TOUCH = (
    update(Dataset.__table__)
    .where(Dataset.__table__.c.id.in_(bindparam("ids", expanding=True)))
    .values({_COLUMN: bindparam("now")})
)


def touch(conn: Connection, dataset_ids: Iterable[int], now: datetime) -> None:
    """Record that the datasets `dataset_ids` changed at `now` (their resources, say)."""
    ids = list(dataset_ids)
    if ids:
        conn.execute(_TOUCH, {"ids": ids, "now": now})


def touched(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Return the values of a dataset row being written with its change time set to `now`."""
    return {**values, _COLUMN: now}


def mark(dataset: Dataset, now: datetime) -> None:
    """Record that the loaded `dataset` changed at `now`; the caller flushes it."""
    setattr(dataset, _COLUMN, now)


def changed_at(dataset: Any) -> datetime:
    """Return when `dataset` (a Dataset or a row with its change time) last changed."""
    return getattr(dataset, _COLUMN)


# What a dataset's version is made of, for statements that read it with the dataset's id.
# A rating changes no search (catalogue/ratings.py leaves the change time alone), so it is read
# here rather than moving the generation and with it every cached search.
VERSION_COLUMNS = (CHANGE_TIME, Dataset.download_count, Dataset.rating_count, Dataset.rating_mean)


def version_of(dataset: Any) -> tuple:
    """Return the version of one dataset (a Dataset, or a row with VERSION_COLUMNS)."""
    return (changed_at(dataset), dataset.download_count, dataset.rating_count, dataset.rating_mean)


def generation() -> tuple:
    """Return what changes whenever the catalogue changes. Two index lookups, in one constant
    statement run on every catalogue request; the values are compared, never shown."""
    row = db.session.connection().exec_driver_sql(_GENERATION).one()
    return (_address(db.engine), *row)


# Two subqueries: SQLite answers a lone max() from its index, but scans for two in one select.
_GENERATION = f"SELECT (SELECT max(id) FROM datasets), (SELECT max({_COLUMN}) FROM datasets)"


@contextmanager
def raw_cursor() -> Iterator[Any]:
    """Lend a DBAPI cursor of a pooled connection, outside the request's session: what a page kept whole
    reads to check its stamps (catalogue/whole_pages.py), for a fifth of the Python calls of a session's
    statement. Each of its statements is bounded as the session's are (dbtimeout.LentCursor), and a
    driver's error on it is raised as SQLAlchemy raises it, so that a statement stopped by the bound
    answers 503 (dbtimeout.is_timeout) rather than escaping as the driver's own exception."""
    dbapi = db.engine.dialect.dbapi
    connection = db.engine.raw_connection()
    try:
        cursor = dbtimeout.LentCursor(connection)
        try:
            yield cursor
        except dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(None, None, exc, dbapi.Error) from exc
        finally:
            cursor.close()
    finally:
        connection.close()


def generation_on(cursor: Any) -> tuple:
    """Return `generation()`, the same values, read on a `raw_cursor`."""
    cursor.execute(_GENERATION)
    return (_address(db.engine), *cursor.fetchone())


@lru_cache(maxsize=16)
def _address(engine: Any) -> str:
    """The engine's database, as a generation names it: its URL written once per engine (writing it
    takes a dozen Python calls, on every kept catalogue page)."""
    return str(engine.url)
