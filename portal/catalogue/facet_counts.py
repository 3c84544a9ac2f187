"""Count the catalogue's facets for a search, from this process's facet index (facet_index.py).

Values within a facet widen the results (OR) and facets narrow each other (AND). Counts
are disjunctive: each facet's counts are over the results filtered by the text and by every
other facet, not by itself, so a visitor sees how many datasets each further value would add.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app

from portal import dbtimeout
from portal.catalogue import changes, facet_index, rules, search_cache
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL
from portal.extensions import db

FACET_LIMIT = 30  # values per facet, by count; selected values are always shown too
# Facet labels are data, as CKAN names them; the page translates the open conditions by value.
CONDITION_LABELS = {UNCONDITIONAL: "无条件开放", CONDITIONAL: "有条件开放"}


@dataclass(frozen=True)
class Facet:
    value: str
    label: str
    count: int
    selected: bool


def index(stamp: tuple | None = None) -> facet_index.FacetIndex:
    """Return this process's facet index of the catalogue (of generation `stamp`), rebuilt when
    the catalogue changes, at most every CATALOGUE_INDEX_REUSE_SECONDS while it keeps changing.
    One thread builds it; without one, the others wait for it rather than build it too, and while
    one rebuilds it before its time runs out (search_cache), the others go on with the one they have."""
    stamp = stamp or changes.generation()
    return search_cache.searches.get(
        "facet index",
        lambda: _build_index(stamp),
        stamp,
        ttl=120.0,
        reuse_within=current_app.config["CATALOGUE_INDEX_REUSE_SECONDS"],
        maker=_index_lock,
    )


_index_lock = threading.Lock()


def _build_index(stamp: tuple) -> facet_index.FacetIndex:
    # a read of the whole catalogue that every later request reuses: not bound by one request's timeout
    with dbtimeout.unbounded(db.session.connection()):
        return facet_index.build(stamp)


def _restrictions(
    facets_index: facet_index.FacetIndex, matched: Iterable[int] | None, chosen: dict[str, Sequence[str]]
) -> tuple[int, dict[str, int]]:
    """Return the datasets the text matched (all, without text) and, for each facet with chosen
    values, the datasets carrying one of them."""
    within = facets_index.of_ids(matched) if matched is not None else facets_index.everything
    carrying = {name: facets_index.any_of(name, values) for name, values in chosen.items() if values}
    return within, carrying


def results(
    facets_index: facet_index.FacetIndex, matched: Iterable[int] | None, chosen: dict[str, Sequence[str]]
) -> int:
    """Return the results as a bitset: the datasets `matched` (all when None) carrying a chosen
    value of each facet."""
    found, carrying = _restrictions(facets_index, matched, chosen)
    for datasets in carrying.values():
        found &= datasets
    return found


def total(
    facets_index: facet_index.FacetIndex, matched: Iterable[int] | None, chosen: dict[str, Sequence[str]]
) -> int:
    """Count the results (see `results`)."""
    return results(facets_index, matched, chosen).bit_count()


def counts(
    facets_index: facet_index.FacetIndex, matched: Iterable[int] | None, chosen: dict[str, Sequence[str]]
) -> dict[str, list[Facet]]:
    """Count the results for each value of each facet, filtered by everything but that facet.

    Values by count, then by value; the first FACET_LIMIT of each, and the chosen ones
    whatever their count (0 when no result has them)."""
    within, carrying = _restrictions(facets_index, matched, chosen)
    facets = {}
    for name in rules.NAMES:
        base = within
        for other, datasets in carrying.items():
            if other != name:
                base &= datasets
        found = facets_index.counts(name, base)
        selected = set(chosen.get(name, ()))
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        shown = ranked[:FACET_LIMIT] + [item for item in ranked[FACET_LIMIT:] if item[0] in selected]
        labels = facets_index.labels[name]
        facets[name] = [Facet(v, _label(name, v, labels[v]), n, v in selected) for v, n in shown]
        # a selected value without results in this search still gets a chip to remove it
        facets[name] += [Facet(v, _label(name, v, v), 0, True) for v in sorted(selected - found.keys())]
    return facets


def _label(name: str, value: str, label: str) -> str:
    return CONDITION_LABELS.get(value, label) if name == "open_condition" else label
