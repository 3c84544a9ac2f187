"""Load a page of search results, in the order of their ids: datasets with the relations
they are shown with, result cards without the ORM, or only their versions."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import CompoundSelect, Select, bindparam, func, literal_column, select, union_all

from portal.catalogue import changes, rules
from portal.catalogue.models import (
    Dataset,
    Department,
    Licence,
    Resource,
    Tag,
    Theme,
    dataset_tags,
    dataset_themes,
)
from portal.catalogue.quality import LinkCheck
from portal.extensions import db
from portal.regions.models import Region


@dataclass(frozen=True)
class Card:
    """What a result card shows of a dataset, read without the ORM: a page of results
    needs twenty of these, and building full Dataset objects with their relations cost
    more than the rest of the page."""

    id: int
    name: str
    title: str
    notes: str
    department: str | None  # its title
    region: str | None  # the department's county or city
    metadata_modified: datetime
    last_synced_at: datetime  # its change time (catalogue/changes.py)
    download_count: int
    open_condition: str
    rating_count: int
    rating_mean: float | None  # None while unrated
    formats: tuple[str, ...]  # of its active resources, sorted, without blanks
    themes: tuple[str, ...]  # titles
    broken_resources: int = 0  # active resources whose latest check failed (catalogue/quality.py)


def load_datasets(ids: list[int]) -> list[Dataset]:
    """Load the page's datasets with what a result card shows, in the order of `ids`."""
    if not ids:
        return []
    rows = db.session.scalars(rules.with_relations(select(Dataset).where(Dataset.id.in_(ids))))
    by_id = {d.id: d for d in rows}
    return [by_id[i] for i in ids if i in by_id]


class Version(NamedTuple):
    """What tells whether a result card made before is still true (see catalogue/changes.py)."""

    id: int
    last_synced_at: datetime  # the dataset's change time
    download_count: int
    rating_count: int
    rating_mean: float | None

    @property
    def version(self) -> tuple:
        return changes.version_of(self)


VERSION_COLUMNS = (Dataset.id, *changes.VERSION_COLUMNS)


@functools.lru_cache(maxsize=128)  # a page holds at most search.MAX_PER_PAGE datasets
def _versions(count: int) -> Select:
    """The statement of `count` datasets' versions, one parameter per id: every catalogue page runs
    one, and an expanding parameter would have it rewritten at each run."""
    return select(*VERSION_COLUMNS).where(Dataset.id.in_([bindparam(f"id{n}") for n in range(count)]))


def load_versions(ids: list[int]) -> list[Version]:
    """Load the versions of the page's datasets, in the order of `ids`: one light statement."""
    parameters = {f"id{n}": dataset_id for n, dataset_id in enumerate(ids)}
    rows = db.session.connection().execute(_versions(len(ids)), parameters) if ids else ()
    by_id = {row[0]: Version(*row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


_SEP = "\x1f"  # joins a dataset's formats or themes in one column; no CKAN name or title holds it


def _cards_statement():
    """The statement of a page's cards, with their ids bound as one expanding parameter: built once,
    as building it cost more than running it."""
    formats = (
        select(func.aggregate_strings(Resource.format, _SEP))
        .where(Resource.dataset_id == Dataset.id, rules.shaped_resource())
        .scalar_subquery()
    )
    themes = (
        select(func.aggregate_strings(Theme.name + _SEP + Theme.title, _SEP))
        .select_from(dataset_themes)
        .join(Theme)
        .where(dataset_themes.c.dataset_id == Dataset.id)
        .scalar_subquery()
    )
    broken = (
        select(func.count())
        .select_from(LinkCheck)
        .join(Resource, Resource.id == LinkCheck.resource_id)
        .where(Resource.dataset_id == Dataset.id, Resource.state == "active", LinkCheck.broken.is_(True))
        .scalar_subquery()
    )
    return (
        select(
            Dataset.id,
            Dataset.name,
            Dataset.title,
            Dataset.notes,
            Department.title,
            Region.name,
            Dataset.metadata_modified,
            changes.CHANGE_TIME,
            Dataset.download_count,
            Dataset.open_condition,
            Dataset.rating_count,
            Dataset.rating_mean,
            formats,
            themes,
            broken,
        )
        .outerjoin(Dataset.department)
        .outerjoin(Department.region)
        .where(Dataset.id.in_(bindparam("ids", expanding=True)))
    )


_CARDS = _cards_statement()


def load_cards(ids: list[int]) -> list[Card]:
    """Load the page's result cards in the order of `ids`: one statement, no ORM objects."""
    if not ids:
        return []
    by_id = {}
    for *row, format_list, theme_list, broken_count in db.session.connection().execute(_CARDS, {"ids": ids}):
        named = theme_list.split(_SEP) if theme_list else []
        by_theme_name = sorted(zip(named[::2], named[1::2], strict=True))  # in name order, as on the page
        by_id[row[0]] = Card(
            *row,
            formats=tuple(sorted(set(format_list.split(_SEP)))) if format_list else (),
            themes=tuple(title for _, title in by_theme_name),
            broken_resources=broken_count or 0,
        )
    return [by_id[i] for i in ids if i in by_id]


class Shown(NamedTuple):
    """What the page of a published dataset reads for a visitor who is not signed in, besides
    its cached public part: one light row, no ORM object (which cost more than the rest of it)."""

    id: int
    name: str
    title: str
    state: str
    open_condition: str
    last_synced_at: datetime  # its change time, and the rest of its version (changes.VERSION_COLUMNS)
    download_count: int
    rating_count: int
    rating_mean: float | None

    @property
    def is_published(self) -> bool:
        return rules.is_published(self)


_SHOWN_LIST = ", ".join(
    column.key
    for column in (Dataset.id, Dataset.name, Dataset.title, Dataset.state, Dataset.open_condition)
    + changes.VERSION_COLUMNS
)


def raw_shown(cursor: Any, name: str) -> Shown | None:
    """Return the light row of dataset `name` as the database gives it (no type conversion: its version
    is compared, never shown), or None; read on a `changes.raw_cursor`, outside the session, for a fifth
    of the Python calls of a session's statement (issue 20)."""
    cursor.execute(f"SELECT {_SHOWN_LIST} FROM datasets WHERE name = {_mark()}", (name,))
    row = cursor.fetchone()
    return None if row is None else Shown(*row)


def _mark() -> str:
    """The DBAPI driver's mark of a positional parameter."""
    return "?" if db.engine.dialect.paramstyle == "qmark" else "%s"


# -- The dataset page's public part, without the ORM ---------------------------------------------


class _Plain:
    """An object whose attributes are the values it was made with (a row's columns)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class PageResource(_Plain):
    """A resource as its dataset's page shows it: the columns the page reads (`_PAGE_RESOURCE_COLUMNS`),
    with the model's own properties."""

    is_active = Resource.is_active
    volume = Resource.volume
    counted_volume = property(Resource.__dict__["counted_volume"].fget)


class PageDataset(_Plain):
    """A dataset as its page shows it to everyone (page_parts.render): the columns the page reads
    (`_PAGE_DATASET_COLUMNS`), its department with its region, its licence, themes, tags and resources
    (with the ids of the active ones whose latest link check failed), read with three Core statements.
    Loading the ORM object with its relations cost twice the rendering of the page's public part (issue
    20). A column the page comes to show is added to the lists below: the others are not read, as each
    time or flag read is converted (a time on SQLite three Python calls: some 30 calls a page)."""

    is_published = Dataset.is_published
    volume = Dataset.volume


# What the page reads of a dataset and of its resources (page_parts; `id` and the keys of the dataset's
# department and licence for the loading itself). Not read: the times of its syncs, withdrawal, mirroring
# and measuring, its ratings (the view reads those on its own row), and the resources' checksums, MIME
# types and positions.
_PAGE_DATASET_COLUMNS = (
    *("id", "name", "title", "notes", "department_id", "licence_id", "open_condition", "state"),
    *("author", "maintainer", "source_url", "extras", "metadata_created", "metadata_modified"),
    "download_count",
)
_PAGE_RESOURCE_COLUMNS = (
    *("id", "ckan_id", "name", "description", "format", "url", "size", "state", "storage_key"),
    *("mirrored_size", "records", "fields", "is_valid", "invalid_reason", "download_count"),
)


def _page_statements() -> tuple[Select, Select, CompoundSelect]:
    datasets, resources = Dataset.__table__, Resource.__table__
    dataset = (
        select(
            *(datasets.c[name] for name in _PAGE_DATASET_COLUMNS),
            Department.title.label("department_title"),
            Region.name.label("region_name"),
            Licence.title.label("licence_title"),
            Licence.url.label("licence_url"),
        )
        .outerjoin(Department, Department.id == datasets.c.department_id)
        .outerjoin(Region, Region.id == Department.region_id)
        .outerjoin(Licence, Licence.id == datasets.c.licence_id)
        .where(datasets.c.id == bindparam("id"))
    )
    of_dataset = resources.c.dataset_id == bindparam("id")
    in_order = (  # with its latest link check's verdict (NULL when never checked)
        select(*(resources.c[name] for name in _PAGE_RESOURCE_COLUMNS), LinkCheck.broken.label("link_broken"))
        .outerjoin(LinkCheck, LinkCheck.resource_id == resources.c.id)
        .where(of_dataset)
        .order_by(resources.c.position)
    )
    themes = (
        select(literal_column("0").label("kind"), Theme.name.label("name"), Theme.title.label("title"))
        .join(dataset_themes, dataset_themes.c.theme_id == Theme.id)
        .where(dataset_themes.c.dataset_id == bindparam("id"))
    )
    tags = (
        select(literal_column("1"), Tag.name, Tag.name)
        .join(dataset_tags, dataset_tags.c.tag_id == Tag.id)
        .where(dataset_tags.c.dataset_id == bindparam("id"))
    )
    return dataset, in_order, union_all(themes, tags).order_by("kind", "name")  # themes, then tags, by name


_PAGE_DATASET, _PAGE_RESOURCES, _PAGE_NAMES = _page_statements()


def load_page_dataset(dataset_id: int, cursor: Any = None) -> PageDataset | None:
    """Load what the dataset's page shows everyone, as `PageDataset`; None when there is no such dataset.
    Its three statements run on `cursor`, a DBAPI cursor outside the session (changes.raw_cursor; one is
    lent when none is given), their values converted by their columns' types as SQLAlchemy converts them:
    through a session they cost some 500 Python calls more, and a visitor not signed in then opens no
    session at all (issue 20)."""
    if cursor is None:
        with changes.raw_cursor() as lent:
            return load_page_dataset(dataset_id, lent)
    parameters = {"id": dataset_id}
    dataset, in_order, names = _raw_statements(db.engine.dialect)
    rows = dataset.rows(cursor, parameters)
    if not rows:
        return None
    resources = [
        PageResource(**dict(zip(in_order.keys, r, strict=True))) for r in in_order.rows(cursor, parameters)
    ]
    themes, tags = [], []
    for kind, name, title in names.rows(cursor, parameters):
        (tags if kind else themes).append(_Plain(name=name, title=title))
    row = rows[0]
    values = dict(zip(_PAGE_DATASET_COLUMNS, row, strict=False))
    department_title, region_name, licence_title, licence_url = row[len(_PAGE_DATASET_COLUMNS) :]
    department = None
    if values["department_id"] is not None:
        department = _Plain(title=department_title, region=_Plain(name=region_name))
    licence = None if values["licence_id"] is None else _Plain(title=licence_title, url=licence_url)
    broken = {r.id for r in resources if r.is_active and r.link_broken}  # as quality.broken_resource_ids
    return PageDataset(
        **values,
        department=department,
        licence=licence,
        themes=themes,
        tags=tags,
        resources=resources,
        broken_resource_ids=broken,
    )


class _RawStatement:
    """A Core statement compiled once for a dialect, run on a DBAPI cursor: its rows come with the values
    a Core execution gives (each column's type's result processor, chosen for the driver's column types
    at the first run, as SQLAlchemy's result does)."""

    def __init__(self, statement: Select | CompoundSelect, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql, self.dialect = compiled.string, dialect
        self.positions = compiled.positiontup  # names of positional parameters; None when named
        self.keys = tuple(column[0] for column in compiled._result_columns)
        self.types = tuple(column[3] for column in compiled._result_columns)
        self.processors: tuple | None = None

    def rows(self, cursor: Any, parameters: dict[str, Any]) -> list[tuple]:
        values = parameters if self.positions is None else tuple(parameters[n] for n in self.positions)
        cursor.execute(self.sql, values)
        rows = cursor.fetchall()
        if self.processors is None:
            self.processors = tuple(
                kind._cached_result_processor(self.dialect, described[1])
                for kind, described in zip(self.types, cursor.description, strict=True)
            )
        converting = [(n, p) for n, p in enumerate(self.processors) if p is not None]
        if not converting:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for n, process in converting:
                row[n] = process(row[n])
            converted.append(tuple(row))
        return converted


@functools.lru_cache(maxsize=4)
def _raw_statements(dialect: Any) -> tuple[_RawStatement, _RawStatement, _RawStatement]:
    """The dataset page's statements for the engine's dialect, compiled once."""
    return tuple(
        _RawStatement(statement, dialect) for statement in (_PAGE_DATASET, _PAGE_RESOURCES, _PAGE_NAMES)
    )


def raw_versions(cursor: Any, ids: Sequence[int]) -> tuple:
    """Return the versions of the datasets `ids` as the database gives them (no type conversion), in id
    order, read on a `changes.raw_cursor`: what a kept catalogue page compares with those it was made of."""
    marks = ", ".join([_mark()] * len(ids))
    cursor.execute(f"SELECT {_VERSION_LIST} FROM datasets WHERE id IN ({marks})", tuple(ids))
    return tuple(sorted(cursor.fetchall()))


_VERSION_LIST = ", ".join(column.key for column in (Dataset.id, *changes.VERSION_COLUMNS))
