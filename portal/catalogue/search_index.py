"""Keep the search index current: each dataset's terms in `dataset_search`.

The sync takes each dataset's row from `terms_row` and writes a batch of them with
`write_rows`, in the datasets' transaction; `reindex` rebuilds everything (the
`catalogue reindex` command), and `index_missing` fills in what an upgraded database
lacks. On SQLite, triggers carry each change on to the FTS5 table; on PostgreSQL the
tsvector column is generated.
These functions execute but never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from portal.catalogue import terms
from portal.catalogue.models import (
    Dataset,
    DatasetSearch,
    Department,
    Tag,
    Theme,
    dataset_tags,
    dataset_themes,
)
from portal.dbtypes import utcnow

if TYPE_CHECKING:
    from portal.sync.mapping import PackageRecord

_SEARCH = DatasetSearch.__table__
_TEXTS = (
    select(
        Dataset.id, Dataset.title, Dataset.name, Dataset.notes, Dataset.extras, Department.title.label("dept")
    )
    .outerjoin(Department, Dataset.department_id == Department.id)
    .where(Dataset.id.in_(bindparam("ids", expanding=True)))
)
_LABELS = union_all(
    select(dataset_themes.c.dataset_id, literal("theme").label("kind"), Theme.title.label("text"))
    .join(Theme)
    .where(dataset_themes.c.dataset_id.in_(bindparam("ids", expanding=True))),
    select(dataset_tags.c.dataset_id, literal("tag"), Tag.name)
    .join(Tag)
    .where(dataset_tags.c.dataset_id.in_(bindparam("ids", expanding=True))),
)
_MISSING = select(Dataset.id).where(~Dataset.id.in_(select(_SEARCH.c.dataset_id))).order_by(Dataset.id)
BATCH = 500


def index_dataset(conn: Connection, dataset_id: int, package: PackageRecord | None = None) -> None:
    """Write the search terms of one dataset.

    The sync passes the package it has just written, which spares reading it back (the
    sync's hot path); without it, the text is read from the dataset's rows, as `reindex` does.
    """
    if package is None:
        _index(conn, [dataset_id])
        return
    write_rows(conn, [terms_row(dataset_id, package, utcnow())])


def terms_row(dataset_id: Any, package: PackageRecord, now: datetime) -> dict:
    """Return the search row of a package as the sync writes it (spares reading it back)."""
    org = package.organization
    title, tags, body = terms.dataset_terms(
        title=package.title[:500],
        name=package.name,
        notes=package.notes,
        department=org.title[:200] if org else "",
        themes=[g.title[:200] for g in package.groups],
        tags=package.tags,
        extras=package.extras,
    )
    return _row(dataset_id, title, tags, body, now)


def write_rows(conn: Connection, rows: list[dict]) -> None:
    """Insert or update search rows (of `terms_row`) in one statement; a row whose terms are the same
    is left alone, and the full-text index with it."""
    if rows:
        conn.execute(_UPSERTS[conn.dialect.name], rows)


def index_missing(conn: Connection) -> int:
    """Index every dataset that has no terms yet (after an upgrade); return how many."""
    ids = list(conn.execute(_MISSING).scalars())
    for start in range(0, len(ids), BATCH):
        _index(conn, ids[start : start + BATCH])
    return len(ids)


def reindex(conn: Connection) -> int:
    """Rebuild the whole index from the catalogue tables; return the number of datasets indexed."""
    conn.execute(delete(_SEARCH))
    return index_missing(conn)


def _index(conn: Connection, ids: list[int]) -> None:
    themes: dict[int, list[str]] = {}
    tags: dict[int, list[str]] = {}
    for dataset_id, kind, text in conn.execute(_LABELS, {"ids": ids}):
        (themes if kind == "theme" else tags).setdefault(dataset_id, []).append(text)
    now, rows = utcnow(), []
    for d in conn.execute(_TEXTS, {"ids": ids}):
        title, tag, body = terms.dataset_terms(
            title=d.title,
            name=d.name,
            notes=d.notes,
            department=d.dept or "",
            themes=themes.get(d.id, []),
            tags=tags.get(d.id, []),
            extras=d.extras if isinstance(d.extras, dict) else {},
        )
        rows.append(_row(d.id, title, tag, body, now))
    write_rows(conn, rows)


def _row(dataset_id: Any, title: str, tags: str, body: str, now) -> dict:
    return {
        "dataset_id": dataset_id,
        "title_terms": title,
        "tag_terms": tags,
        "body_terms": body,
        "updated_at": now,
    }


def _upsert(insert):
    """Insert or update a row; leave it, and the full-text index, alone when its terms are the same."""
    statement = insert(_SEARCH)
    new = statement.excluded
    columns = ("title_terms", "tag_terms", "body_terms")
    return statement.on_conflict_do_update(
        index_elements=[_SEARCH.c.dataset_id],
        set_={c: new[c] for c in (*columns, "updated_at")},
        where=or_(*(_SEARCH.c[c] != new[c] for c in columns)),
    )


_UPSERTS = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}
