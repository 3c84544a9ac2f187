"""Search the published catalogue in Chinese, on SQLite and PostgreSQL alike, with facets.

This module holds the search itself: the query and its bounds, the result, and one page of
results in the asked order. The other jobs are modules of their own: the catalogue's rules
(what is published, each facet) in rules.py, text matching against the full-text index in
matching.py, facet counts in facet_counts.py (from the bitsets of facet_index.py), loading the
page's datasets, cards or versions in loading.py, highlights in highlights.py, and the cache
contract the cached parts are stamped with in changes.py. Domain code: it only reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, bindparam, select

from portal import searchslots
from portal.catalogue import (
    changes,
    facet_counts,
    facet_index,
    matching,
    rules,
    search_cache,
    terms,
)
from portal.catalogue.facet_counts import Facet
from portal.catalogue.highlights import Highlight, highlight_of
from portal.catalogue.loading import VERSION_COLUMNS, Version, load_datasets, load_versions
from portal.catalogue.models import Dataset
from portal.extensions import db

SORTS = ("relevance", "updated", "downloads", "name", "rating")
FACETS = rules.NAMES
MAX_Q, MAX_PER_PAGE, MAX_PAGE = 100, 100, 100_000
# C0 controls and DEL: no term holds one, and a page that echoes the words must not carry a NUL or an escape
_CONTROLS = dict.fromkeys([*range(0x20), 0x7F], " ")
MAX_FILTER_VALUES = 20  # values used per facet filter: each is a lookup, and SQL takes only so many


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""  # free text, any length (cut to MAX_Q), special characters harmless
    departments: tuple[str, ...] = ()  # Department.name
    regions: tuple[str, ...] = ()  # Region.code (county or city)
    themes: tuple[str, ...] = ()  # Theme.name
    formats: tuple[str, ...] = ()  # Resource.format, upper-case
    open_conditions: tuple[str, ...] = ()  # 'unconditional' / 'conditional'
    tags: tuple[str, ...] = ()  # Tag.name
    sort: str = "relevance"  # relevance | updated | downloads | name | rating (relevance without q = updated)
    page: int = 1
    per_page: int = 20  # capped at MAX_PER_PAGE


@dataclass(frozen=True)
class SearchResult:
    items: list[Any]  # Dataset; or Card, Version when searched with load=load_cards, load_versions
    total: int
    page: int
    per_page: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    highlights: dict[int, Highlight] = field(default_factory=dict)
    generation: tuple = ()  # of the catalogue the facets were counted in (changes.generation)

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
    """Return `query` within bounds: q cut and its control characters made spaces, page and per_page
    clamped, unknown sort made relevance."""
    return SearchQuery(
        q=query.q[:MAX_Q].translate(_CONTROLS).strip(),
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
    """The first distinct filter values, each cut to 200 characters; a NUL's value is left out (no name
    holds one, and PostgreSQL refuses it in a parameter), as any malformed part of a search falls back."""
    kept = (v for v in (str(x)[:200] for x in values) if v and "\x00" not in v)
    return tuple(dict.fromkeys(kept))[:MAX_FILTER_VALUES]


def chosen(query: SearchQuery) -> dict[str, tuple[str, ...]]:
    """Return the query's chosen values per facet name (rules.FACETS)."""
    return {facet.name: getattr(query, facet.field) for facet in rules.FACETS}


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
    stamp = changes.generation()
    # a text match not made yet reads the full-text index: one of the few such searches run at once, and
    # one thread of a process per match (the others wait for it and find the match made)
    # A match due to be made again (search_cache) is made in a slot free at once, or else served as it is
    # while its time lasts: the thread chosen to remake it never waits for a slot, nor is refused, for it.
    key = ("match", query.q)
    match = search_cache.searches.peek(key, stamp) if units else None
    if units and match is None:
        with search_cache.searches.one_at_a_time(key):
            match = search_cache.searches.peek(key, stamp)
            if match is None:
                kept = search_cache.searches.unexpired(key, stamp)
                plain = len(units) <= searchslots.PLAIN_UNITS  # as a visitor types it: may wait for a slot
                with ExitStack() as slot:
                    try:
                        slot.enter_context(searchslots.held(plain=plain and kept is None))
                    except searchslots.Busy:
                        if kept is None:
                            raise
                        search_cache.searches.give_up(key)
                        match = kept
                    else:
                        return _search(query, units, stamp, load, highlight)
    # the match as read above: read again, it could fall due in between and be made here without a slot
    return _search(query, units, stamp, load, highlight, match)


def _search(
    query: SearchQuery,
    units: list[terms.Unit],
    stamp: tuple,
    load,
    highlight: bool,
    match: matching.Match | None = None,
) -> SearchResult:
    filters = replace(query, page=1, sort="", per_page=0)  # what the match and the facets depend on
    if units and match is None:
        match = search_cache.cached(("match", query.q), lambda: matching.match(units), stamp)
    counted = facet_counts.index(stamp)  # counts come from it: stamped with what it was built from
    ids, total, versions = _page(query, match, stamp, counted)
    items = versions if load is load_versions and versions is not None else (load or load_datasets)(ids)
    facets = search_cache.cached(
        ("facets", filters),
        lambda: facet_counts.counts(counted, _matched(match), chosen(query)),
        counted.generation,
    )
    highlights = {d.id: highlight_of(d, units) for d in items} if highlight else {}
    return SearchResult(items, total, query.page, query.per_page, facets, highlights, counted.generation)


def popular_themes(limit: int = 6) -> list[Facet]:
    """Return the themes with the most published datasets, to suggest when nothing matched."""
    return facet_counts.counts(facet_counts.index(), None, {})["theme"][:limit]


def _conditions(query: SearchQuery, match: matching.Match | None, *, skip: str = "") -> list:
    """Return the WHERE clauses of `query` on datasets, leaving out the facet `skip`."""
    conditions = [rules.published()]
    if match is not None:
        conditions.append(match.condition)
    return conditions + rules.facet_conditions(chosen(query), skip=skip)


def _page(
    query: SearchQuery, match: matching.Match | None, stamp: tuple, counted: facet_index.FacetIndex
) -> tuple[list[int], int, list[Version] | None]:
    """Return the ids of the asked page in the asked order, the total, and (for a listing,
    which reads them with the ids) their versions; ties go to the newer.

    The ranked list of a text search, the total and the statement of a listing are cached
    per catalogue generation: paging through results or reloading a page does not redo them.
    A listing newest first (the default) is picked from the facet index's bitsets and order,
    while the index is of the current catalogue: no statement filters and sorts the catalogue.
    """
    start = (query.page - 1) * query.per_page
    filters = replace(query, page=1, per_page=0, sort="")
    current = counted.generation == stamp  # the index is of this catalogue: it can list the results

    def found() -> int:
        return facet_counts.results(counted, _matched(match), chosen(query))

    if query.sort == "relevance" and match is not None:

        def ranked() -> list[int]:
            if current:
                ids = counted.newest_of(search_cache.cached(("results", filters), found, stamp))
            else:
                statement = select(Dataset.id).where(*_conditions(query, match)).order_by(*_NEWEST)
                ids = list(db.session.scalars(statement))
            ids.sort(key=match.rank.__getitem__)  # stable: the newer first within equal ranks
            return ids

        ids = search_cache.cached(("ranked", filters), ranked, stamp)
        return ids[start : start + query.per_page], len(ids), None
    if query.sort in _NEWEST_SORTS and current:
        results = search_cache.cached(("results", filters), found, stamp)
        return counted.newest_of(results, start, query.per_page), results.bit_count(), None
    statement = search_cache.cached(("listing", filters, query.sort), lambda: _listing(query, match), stamp)
    total = search_cache.cached(
        ("total", filters),
        lambda: facet_counts.total(counted, _matched(match), chosen(query)),
        counted.generation,
    )
    rows = db.session.connection().execute(statement, {"limit": query.per_page, "offset": start})
    versions = [Version(*row) for row in rows]
    return [version.id for version in versions], total, versions


_NEWEST = (Dataset.metadata_modified.desc(), Dataset.id.desc())  # facet_index.FacetIndex.newest too
_NEWEST_SORTS = ("relevance", "updated")  # listed in _NEWEST's order (relevance: here without text)


def _listing(query: SearchQuery, match: matching.Match | None) -> Select:
    """Return the statement of a page of results (with their versions) in the query's sort,
    to run with limit and offset."""
    statement = select(*VERSION_COLUMNS).where(*_conditions(query, match))
    if query.sort == "downloads":
        statement = statement.order_by(Dataset.download_count.desc(), *_NEWEST)
    elif query.sort == "name":
        statement = statement.order_by(Dataset.title, Dataset.name)
    elif query.sort == "rating":  # the best rated first, unrated last; more ratings first among equals
        statement = statement.order_by(
            Dataset.rating_mean.desc().nulls_last(), Dataset.rating_count.desc(), *_NEWEST
        )
    else:
        statement = statement.order_by(*_NEWEST)
    return statement.limit(bindparam("limit")).offset(bindparam("offset"))


def _matched(match: matching.Match | None):
    return match.rank if match is not None else None
