"""Search the published catalogue in Chinese, on SQLite and PostgreSQL alike, with facets.

The text index holds each dataset's terms (catalogue/terms.py) in `dataset_search`: title,
tags, and a body of notes, department, themes and extras values. SQLite searches them
through an FTS5 table ranked by bm25 with column weights; PostgreSQL through a generated
tsvector, weighted A/B/C, ranked by ts_rank_cd. Both rank a title match above a tag match
above a body match (see `_match`). Domain code: it only reads.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app
from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    any_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql

from portal import dbtimeout
from portal.catalogue import facet_index, rules, search_cache, terms
from portal.catalogue.models import (
    CONDITIONAL,
    UNCONDITIONAL,
    Dataset,
    Department,
    Resource,
    Theme,
    dataset_themes,
)
from portal.dbschema import FTS_TABLE, VECTOR_COLUMN
from portal.extensions import db
from portal.regions.models import Region

SORTS = ("relevance", "updated", "downloads", "name")
FACETS = facet_index.FACETS
MAX_Q, MAX_PER_PAGE, MAX_PAGE = 100, 100, 100_000
MAX_FILTER_VALUES = 20  # values used per facet filter: each is a lookup, and SQL takes only so many
FACET_LIMIT = 30  # values per facet, by count; selected values are always shown too
# Column weights, which order the datasets within a tier of `_match`.
BM25_WEIGHTS = (10.0, 4.0, 1.0)  # title, tags, body
TS_WEIGHTS = "{0.01, 0.02, 0.1, 1.0}"  # D (unused), C body, B tags, A title
# Facet labels are data, as CKAN names them; the page translates the open conditions by value.
CONDITION_LABELS = {UNCONDITIONAL: "无条件开放", CONDITIONAL: "有条件开放"}


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""  # free text, any length (cut to MAX_Q), special characters harmless
    departments: tuple[str, ...] = ()  # Department.name
    regions: tuple[str, ...] = ()  # Region.code (county or city)
    themes: tuple[str, ...] = ()  # Theme.name
    formats: tuple[str, ...] = ()  # Resource.format, upper-case
    open_conditions: tuple[str, ...] = ()  # 'unconditional' / 'conditional'
    tags: tuple[str, ...] = ()  # Tag.name
    sort: str = "relevance"  # relevance | updated | downloads | name (relevance without q = updated)
    page: int = 1
    per_page: int = 20  # capped at MAX_PER_PAGE


@dataclass(frozen=True)
class Facet:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Highlight:
    title: Markup  # escaped, with <mark> around matched terms
    snippet: Markup  # about 120 characters of the plain-text notes, likewise


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
    last_synced_at: datetime
    download_count: int
    open_condition: str
    formats: tuple[str, ...]  # of its active resources, sorted, without blanks
    themes: tuple[str, ...]  # titles


@dataclass(frozen=True)
class SearchResult:
    items: list[Any]  # Dataset; or Card, Version when searched with load=load_cards, load_versions
    total: int
    page: int
    per_page: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    highlights: dict[int, Highlight] = field(default_factory=dict)
    generation: tuple = ()  # of the catalogue the facets were counted in (search_cache.generation)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return min(self.page - 1, self.pages)

    @property
    def next_num(self) -> int:
        return self.page + 1


def normalise(query: SearchQuery) -> SearchQuery:
    """Return `query` within bounds: q cut, page and per_page clamped, unknown sort made relevance."""
    return SearchQuery(
        q=query.q[:MAX_Q].strip(),
        departments=_distinct(query.departments),
        regions=_distinct(query.regions),
        themes=_distinct(query.themes),
        formats=_distinct(f.upper() for f in query.formats),
        open_conditions=_distinct(query.open_conditions),
        tags=_distinct(query.tags),
        sort=query.sort if query.sort in SORTS else "relevance",
        page=min(max(1, query.page), MAX_PAGE),
        per_page=min(max(1, query.per_page), MAX_PER_PAGE),
    )


def _distinct(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in (str(x)[:200] for x in values) if v))[:MAX_FILTER_VALUES]


class _Match(NamedTuple):
    condition: ColumnElement  # "the dataset is one of the matches", with their ids bound as one value
    rank: dict[int, tuple[int, float]]  # dataset id -> (tier, score); the lower ranks first


def search_datasets(
    query: SearchQuery, load: Callable[[list[int]], Sequence[Any]] | None = None, *, highlight: bool = True
) -> SearchResult:
    """Return one page of published datasets matching `query`, with facets and highlights.

    Words narrow the results (AND). Values within a facet widen them (OR) and facets
    narrow each other (AND). Facet counts are disjunctive: each facet's counts are over
    the results filtered by the text and by every other facet, not by itself, so a
    visitor sees how many datasets each further value of that facet would add.

    The page's items are Dataset objects with their relations loaded, or what `load`
    makes of the ids, such as `load_cards` or `load_versions`. Highlights are made for
    items with `id`, `title` and `notes` unless `highlight` is false (see `highlight_of`).
    """
    query = normalise(query)
    units = terms.query_units(query.q)
    stamp = search_cache.generation()
    filters = replace(query, page=1, sort="", per_page=0)  # what the match and the facets depend on
    match = search_cache.cached(("match", query.q), lambda: _match(units), stamp) if units else None
    counted = index(stamp)  # counts come from it, so they are stamped with what it was built from
    ids, total, versions = _page(query, match, stamp, counted)
    items = versions if load is load_versions and versions is not None else (load or _load)(ids)
    facets = search_cache.cached(
        ("facets", filters), lambda: _facets(counted, query, match), counted.generation
    )
    highlights = {d.id: highlight_of(d, units) for d in items} if highlight else {}
    return SearchResult(items, total, query.page, query.per_page, facets, highlights, counted.generation)


def highlight_of(item: Any, units: Sequence[terms.Unit]) -> Highlight:
    """Return the highlighted title and snippet of a result (anything with `title` and `notes`)."""
    return _highlight(item.title, item.notes or "", tuple(units))


@functools.lru_cache(maxsize=512)  # the same results are shown again and again
def _highlight(title: str, notes: str, units: tuple[terms.Unit, ...]) -> Highlight:
    return Highlight(terms.highlight(title, list(units)), terms.snippet(terms.plain_text(notes), list(units)))


def popular_themes(limit: int = 6) -> list[Facet]:
    """Return the themes with the most published datasets, to suggest when nothing matched."""
    return _facets(index(), SearchQuery(), None)["theme"][:limit]


def _match(units: list[terms.Unit]) -> _Match:
    """Run the full-text match once; the count, the page and the facets reuse its ids.

    Ranking: a dataset whose title holds the whole query comes first (tier 0), then one
    whose title and tags hold it (tier 1), then the rest (tier 2); within a tier, by bm25
    or ts_rank_cd with the column weights. The tiers make the order of title, tag and body
    matches a rule, where weights alone can be outvoted by many mentions in a long text.
    """
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        index = table("dataset_search", column("dataset_id"), column(VECTOR_COLUMN))
        vector, dataset_id = index.c[VECTOR_COLUMN], index.c.dataset_id

        def tsquery(weights: str = ""):  # weights A, AB: only lexemes of the title, of title and tags
            return cast(literal(terms.tsquery(units, weights)), postgresql.TSQUERY)

        everywhere = vector.op("@@")(tsquery())
        in_title, in_title_or_tags = vector.op("@@")(tsquery("A")), vector.op("@@")(tsquery("AB"))
        score = -func.ts_rank_cd(literal_column(f"'{TS_WEIGHTS}'::float4[]"), vector, tsquery())
    else:
        fts = table(FTS_TABLE, column("rowid"))
        name, dataset_id = literal_column(FTS_TABLE), fts.c.rowid

        def matching(columns: tuple[str, ...] = ()):
            return name.op("MATCH")(terms.fts5_query(units, columns))

        def within(*columns: str):  # an FTS5 table takes one MATCH per scan: look it up apart
            inner = select(literal_column("rowid")).select_from(fts).where(matching(columns))
            return dataset_id.in_(inner.correlate(None))

        everywhere, score = matching(), func.bm25(name, *BM25_WEIGHTS)
        in_title, in_title_or_tags = within("title_terms"), within("title_terms", "tag_terms")
    tier = case((in_title, 0), (in_title_or_tags, 1), else_=2)
    rows = db.session.execute(select(dataset_id, tier, score).where(everywhere))
    rank = {row[0]: (row[1], row[2]) for row in rows}
    if postgres:
        condition = Dataset.id == any_(literal(list(rank), postgresql.ARRAY(Integer)))
    else:
        matched = func.json_each(literal(json.dumps(list(rank)))).table_valued("value")
        condition = Dataset.id.in_(select(matched.c.value))
    return _Match(condition, rank)


# The index's columns, by the names callers use: on SQLite FTS5 columns, on PostgreSQL tsvector weights.
TEXT_COLUMNS = {"title": ("title_terms", "A"), "tags": ("tag_terms", "B"), "body": ("body_terms", "C")}


def text_condition(units: Sequence[terms.Unit], dialect: str, within: str = "") -> ColumnElement[bool]:
    """Return "the dataset's indexed text holds every unit" (`within` one of TEXT_COLUMNS when given),
    answered by the full-text index: one index lookup, never a scan of the texts."""
    if dialect == "postgresql":
        weights = TEXT_COLUMNS[within][1] if within else ""
        index = table("dataset_search", column("dataset_id"), column(VECTOR_COLUMN))
        query = cast(literal(terms.tsquery(list(units), weights)), postgresql.TSQUERY)
        return Dataset.id.in_(select(index.c.dataset_id).where(index.c[VECTOR_COLUMN].op("@@")(query)))
    columns = (TEXT_COLUMNS[within][0],) if within else ()
    fts = table(FTS_TABLE, column("rowid"))
    match = literal_column(FTS_TABLE).op("MATCH")(terms.fts5_query(list(units), columns))
    return Dataset.id.in_(select(fts.c.rowid).where(match))


def text_scores(alternatives: Sequence[Sequence[terms.Unit]], dialect: str):
    """Return a subquery of (dataset_id, score) for the datasets whose text holds any of the
    `alternatives` (each a list of units, all of which must match), the higher score the more
    relevant: bm25 or ts_rank_cd with the catalogue's column weights, one pass over the index."""
    if dialect == "postgresql":
        index = table("dataset_search", column("dataset_id"), column(VECTOR_COLUMN))
        text = " | ".join(f"({terms.tsquery(list(units))})" for units in alternatives)
        query, vector = cast(literal(text), postgresql.TSQUERY), index.c[VECTOR_COLUMN]
        score = func.ts_rank_cd(literal_column(f"'{TS_WEIGHTS}'::float4[]"), vector, query)
        statement = select(index.c.dataset_id, score.label("score")).where(vector.op("@@")(query))
        return statement.subquery("text_scores")
    text = " OR ".join(f"({terms.fts5_query(list(units))})" for units in alternatives)
    fts, name = table(FTS_TABLE, column("rowid")), literal_column(FTS_TABLE)
    score = -func.bm25(name, *BM25_WEIGHTS)
    statement = select(fts.c.rowid.label("dataset_id"), score.label("score")).where(name.op("MATCH")(text))
    return statement.subquery("text_scores")


def _conditions(query: SearchQuery, match: _Match | None, *, skip: str = "") -> list:
    """Return the WHERE clauses of `query` on datasets, leaving out the facet `skip`."""
    conditions = [rules.published()]
    if match is not None:
        conditions.append(match.condition)
    chosen = {facet.name: getattr(query, facet.field) for facet in rules.FACETS}
    return conditions + rules.facet_conditions(chosen, skip=skip)


def _page(
    query: SearchQuery, match: _Match | None, stamp: tuple, counted: facet_index.FacetIndex
) -> tuple[list[int], int, list[Version] | None]:
    """Return the ids of the asked page in the asked order, the total, and (for a listing,
    which reads them with the ids) their versions; ties go to the newer.

    The ranked list of a text search, the total and the statement of a listing are cached
    per catalogue generation: paging through results or reloading a page does not redo them.
    """
    start = (query.page - 1) * query.per_page
    filters = replace(query, page=1, per_page=0, sort="")
    if query.sort == "relevance" and match is not None:

        def ranked() -> list[int]:
            statement = select(Dataset.id).where(*_conditions(query, match)).order_by(*_NEWEST)
            ids = list(db.session.scalars(statement))
            ids.sort(key=match.rank.__getitem__)  # stable: the newer first within equal ranks
            return ids

        ids = search_cache.cached(("ranked", filters), ranked, stamp)
        return ids[start : start + query.per_page], len(ids), None
    statement = search_cache.cached(("listing", filters, query.sort), lambda: _listing(query, match), stamp)
    total = search_cache.cached(("total", filters), lambda: _total(counted, query, match), counted.generation)
    rows = db.session.connection().execute(statement, {"limit": query.per_page, "offset": start})
    versions = [Version(*row) for row in rows]
    return [version.id for version in versions], total, versions


_NEWEST = (Dataset.metadata_modified.desc(), Dataset.id.desc())


def _listing(query: SearchQuery, match: _Match | None) -> Select:
    """Return the statement of a page of results (with their versions) in the query's sort,
    to run with limit and offset."""
    statement = select(*_VERSION_COLUMNS).where(*_conditions(query, match))
    if query.sort == "downloads":
        statement = statement.order_by(Dataset.download_count.desc(), *_NEWEST)
    elif query.sort == "name":
        statement = statement.order_by(Dataset.title, Dataset.name)
    else:
        statement = statement.order_by(*_NEWEST)
    return statement.limit(bindparam("limit")).offset(bindparam("offset"))


def _load(ids: list[int]) -> list[Dataset]:
    """Load the page's datasets with what a result card shows, in the order of `ids`."""
    if not ids:
        return []
    rows = db.session.scalars(rules.with_relations(select(Dataset).where(Dataset.id.in_(ids))))
    by_id = {d.id: d for d in rows}
    return [by_id[i] for i in ids if i in by_id]


class Version(NamedTuple):
    """What tells whether a result card made before is still true."""

    id: int
    last_synced_at: datetime  # moved by every write of the sync
    download_count: int


_VERSION_COLUMNS = (Dataset.id, Dataset.last_synced_at, Dataset.download_count)
_VERSIONS = select(*_VERSION_COLUMNS).where(Dataset.id.in_(bindparam("ids", expanding=True)))


def load_versions(ids: list[int]) -> list[Version]:
    """Load the versions of the page's datasets, in the order of `ids`: one light statement."""
    rows = db.session.connection().execute(_VERSIONS, {"ids": ids}) if ids else ()
    by_id = {row[0]: Version(*row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


_SEP = "\x1f"  # joins a dataset's formats or themes in one column; no CKAN name or title holds it


def load_cards(ids: list[int]) -> list[Card]:
    """Load the page's result cards in the order of `ids`: one statement, no ORM objects."""
    if not ids:
        return []
    formats = (
        select(func.aggregate_strings(Resource.format, _SEP))
        .where(Resource.dataset_id == Dataset.id, Resource.state == "active", Resource.format != "")
        .scalar_subquery()
    )
    themes = (
        select(func.aggregate_strings(Theme.name + _SEP + Theme.title, _SEP))
        .select_from(dataset_themes)
        .join(Theme)
        .where(dataset_themes.c.dataset_id == Dataset.id)
        .scalar_subquery()
    )
    statement = (
        select(
            Dataset.id,
            Dataset.name,
            Dataset.title,
            Dataset.notes,
            Department.title,
            Region.name,
            Dataset.metadata_modified,
            Dataset.last_synced_at,
            Dataset.download_count,
            Dataset.open_condition,
            formats,
            themes,
        )
        .outerjoin(Dataset.department)
        .outerjoin(Department.region)
        .where(Dataset.id.in_(ids))
    )
    by_id = {}
    for *row, format_list, theme_list in db.session.connection().execute(statement):
        named = theme_list.split(_SEP) if theme_list else []
        by_theme_name = sorted(zip(named[::2], named[1::2], strict=True))  # in name order, as on the page
        by_id[row[0]] = Card(
            *row,
            formats=tuple(sorted(set(format_list.split(_SEP)))) if format_list else (),
            themes=tuple(title for _, title in by_theme_name),
        )
    return [by_id[i] for i in ids if i in by_id]


_FACET_FIELDS = {facet.name: facet.field for facet in rules.FACETS}


def index(stamp: tuple | None = None) -> facet_index.FacetIndex:
    """Return this process's facet index of the catalogue (of generation `stamp`), rebuilt when
    the catalogue changes, at most every CATALOGUE_INDEX_REUSE_SECONDS while it keeps changing."""
    stamp = stamp or search_cache.generation()
    with _index_lock:  # one thread builds it; the others wait for it rather than build it too
        return search_cache.searches.get(
            "facet index",
            lambda: _build_index(stamp),
            stamp,
            ttl=120.0,
            reuse_within=current_app.config["CATALOGUE_INDEX_REUSE_SECONDS"],
        )


_index_lock = threading.Lock()


def _build_index(stamp: tuple) -> facet_index.FacetIndex:
    # a read of the whole catalogue that every later request reuses: not bound by one request's timeout
    with dbtimeout.unbounded(db.session.connection()):
        return facet_index.build(stamp)


def _restrictions(
    facets_index: facet_index.FacetIndex, query: SearchQuery, match: _Match | None
) -> tuple[int, dict[str, int]]:
    """Return the datasets the text matches (all, without text) and, for each facet the query
    filters on, the datasets carrying one of its chosen values."""
    within = facets_index.of_ids(match.rank) if match is not None else facets_index.everything
    chosen = {
        name: facets_index.any_of(name, getattr(query, _FACET_FIELDS[name]))
        for name in FACETS
        if getattr(query, _FACET_FIELDS[name])
    }
    return within, chosen


def _total(facets_index: facet_index.FacetIndex, query: SearchQuery, match: _Match | None) -> int:
    """Count the results of `query`: the datasets matched and carrying a chosen value of each filter."""
    results, chosen = _restrictions(facets_index, query, match)
    for datasets in chosen.values():
        results &= datasets
    return results.bit_count()


def _facets(
    facets_index: facet_index.FacetIndex, query: SearchQuery, match: _Match | None
) -> dict[str, list[Facet]]:
    """Count the results for each value of each facet, filtered by everything but that facet.

    Values by count, then by value; the first FACET_LIMIT of each, and the selected ones
    whatever their count (0 when no result has them)."""
    within, chosen = _restrictions(facets_index, query, match)
    facets = {}
    for name in FACETS:
        base = within
        for other, datasets in chosen.items():
            if other != name:
                base &= datasets
        counts = facets_index.counts(name, base)
        selected = set(getattr(query, _FACET_FIELDS[name]))
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        shown = ranked[:FACET_LIMIT] + [item for item in ranked[FACET_LIMIT:] if item[0] in selected]
        labels = facets_index.labels[name]
        facets[name] = [Facet(v, _label(name, v, labels[v]), n, v in selected) for v, n in shown]
        # a selected value without results in this search still gets a chip to remove it
        facets[name] += [Facet(v, _label(name, v, v), 0, True) for v in sorted(selected - counts.keys())]
    return facets


def _label(name: str, value: str, label: str) -> str:
    return CONDITION_LABELS.get(value, label) if name == "open_condition" else label
