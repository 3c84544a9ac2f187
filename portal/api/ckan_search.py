"""CKAN's package_search over the published catalogue: Solr-style q, fq and sort, paging, facets."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from sqlalchemy import Select, func, select

from portal import inputs, searchslots
from portal.api import serializers, solr
from portal.api.ckan_params import ActionError, integer, invalid, natural, search_error, string
from portal.catalogue import facet_counts, rules
from portal.catalogue.models import Dataset, Department, Theme
from portal.extensions import db

ROWS_MAX = 1000  # ckan.search.rows_max
SEARCH_PARAMS = {
    "q", "fl", "fq", "fq_list", "rows", "sort", "start", "wt", "qf", "bf", "boost", "facet",
    "facet.mincount", "facet.limit", "facet.field", "tie", "defType", "mm", "df", "q.op",
    "include_private", "include_drafts", "include_deleted", "use_default_schema", "callback",
}  # fmt: skip


def published() -> Select:
    """Select the published datasets: the only ones this API knows."""
    return rules.published_datasets()


def with_parts(query: Select) -> Select:
    """Load what a package dict shows with the datasets, a query per relation rather than per dataset."""
    return rules.with_relations(query)


def binary(column):
    """Order as Solr's string fields do (by code point) whatever the database's collation."""
    return column.collate("C") if db.session.get_bind().dialect.name == "postgresql" else column


def package_search(params: dict) -> dict:
    """Answer package_search: count, facets, one page of package dicts; raise ActionError as CKAN fails."""
    unknown = sorted(k for k in params if k not in SEARCH_PARAMS and not k.startswith("ext_"))
    if unknown:
        message = f"Search Query is invalid: 'Invalid search parameters: {unknown}'"
        raise ActionError(400, {"__type": "Search Query Error", "message": message})
    rows = min(natural(params, "rows", 10), ROWS_MAX)
    start = natural(params, "start", 0)
    sort = _bounded(params, "sort").strip()
    sort = solr.DEFAULT_SORT if sort in ("", "rank") else sort
    fq_list = _filter_list(params)
    texts = {"q": _bounded(params, "q") or "*:*", "fq": _bounded(params, "fq"), "sort": sort, "rows": rows}
    dialect = db.session.get_bind().dialect.name
    try:
        order = solr.parse_sort(sort)
        q = solr.parse(texts["q"], dialect)
        filters = [solr.parse(f, dialect).where for f in [texts["fq"], *fq_list]]
    except solr.SortError:
        message = "Search Query is invalid: 'Invalid \"sort\" parameter'"
        raise ActionError(400, {"__type": "Search Query Error", "message": message}) from None
    except solr.QueryError as exc:
        raise search_error({**texts, "start": start}, str(exc)) from None
    # a query reads the full-text index or scans: one of the few such searches run at once
    costly = texts["q"].strip() != "*:*" or bool(texts["fq"].strip()) or bool(fq_list)
    # a few words and no filter query, as a person types them, may wait for a slot; a long query may not
    words = texts["q"].split()
    plain = len(words) <= searchslots.PLAIN_UNITS and len(texts["q"]) <= 32 and not texts["fq"].strip()
    with searchslots.held(plain=plain and not fq_list) if costly else nullcontext():
        return _answer(params, q, filters, order, sort, start, rows, dialect)


def _answer(
    params: dict, q, filters: list, order: list, sort: str, start: int, rows: int, dialect: str
) -> dict:
    """Run the parsed search: its count, one page of package dicts, and the facets asked for."""
    matching = published().where(q.where, *filters)
    count = db.session.scalar(
        select(func.count()).select_from(matching.with_only_columns(Dataset.id).subquery())
    )
    datasets = []
    if rows and start < count:
        scores = solr.scores(q.terms, dialect) if any(name == "score" for name, _ in order) else None
        ranked = matching if scores is None else matching.outerjoin(scores, scores.c.dataset_id == Dataset.id)
        keys = [_sort_key(name, desc, scores) for name, desc in order]
        query = ranked.order_by(*[k for k in keys if k is not None], Dataset.id).offset(start).limit(rows)
        datasets = list(db.session.scalars(with_parts(query)))
    facets = _facets(matching, params)
    return {
        "count": count,
        "facets": facets,
        "results": [_fields(serializers.package_dict(d), params.get("fl")) for d in datasets],
        "sort": sort,
        "search_facets": _search_facets(facets),
    }


def _bounded(params: dict, key: str) -> str:
    """Read a string parameter of at most solr.MAX_LENGTH characters: CKAN's validation error past it."""
    value = string(params, key)
    if len(value) > solr.MAX_LENGTH:
        raise invalid({key: [f"Must be at most {solr.MAX_LENGTH} characters long"]})
    return value


def _filter_list(params: dict) -> list[str]:
    """Read fq_list: strings, at most solr.MAX_FILTERS of them, each of bounded length."""
    raw = params.get("fq_list") or []
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > solr.MAX_FILTERS:
        raise invalid({"fq_list": [f"Must hold at most {solr.MAX_FILTERS} filters"]})
    if any(isinstance(item, dict | list) for item in items):
        raise invalid({"fq_list": ["Must be a list of strings"]})
    return [_bounded({"fq_list": str(item)}, "fq_list") for item in items]


def _sort_key(name: str, descending: bool, scores):
    if name == "score":
        if scores is None:
            return None  # every result scores the same
        column = func.coalesce(scores.c.score, 0)
    else:
        column = {
            "metadata_modified": Dataset.metadata_modified,
            "metadata_created": Dataset.metadata_created,
            "name": binary(Dataset.name),
            "id": binary(Dataset.ckan_id),
            "title_string": binary(Dataset.title),
            "license_id": Dataset.licence_id,
        }[name]
    return column.desc() if descending else column.asc()


def _fields(package: dict, fl: Any) -> dict:
    """Keep only the fields `fl` names, as Solr's field list does."""
    if not fl:
        return package
    names = " ".join(fl) if isinstance(fl, list) else str(fl)
    wanted = [n for n in names.replace(",", " ").split() if n]
    return {n: package[n] for n in wanted if n in package}


# Facets that are not the catalogue's (those come from its facet index, rules.BY_CKAN).
_SQL_FACETS: dict[str, Callable[[Any], Select]] = {
    "license_id": lambda ids: (
        select(Dataset.licence_id, func.count())
        .where(Dataset.id.in_(ids), Dataset.licence_id.is_not(None))
        .group_by(Dataset.licence_id)
    ),
}
_FACETS = {*rules.BY_CKAN, *_SQL_FACETS}


def _facets(matching: Select, params: dict) -> dict:
    raw = params.get("facet.field", [])
    try:
        fields = inputs.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise invalid({"facet.field": ["Could not parse as valid JSON"]}) from None
    if not isinstance(fields, list) or not fields:
        return {}
    fields = list(dict.fromkeys(str(f) for f in fields if isinstance(f, str | int)))[: len(_FACETS) + 10]
    limit = integer(params, "facet.limit", 50)  # negative: no limit
    mincount = natural(params, "facet.mincount", 1)
    ids = matching.with_only_columns(Dataset.id)
    catalogued = None  # the matches as a bitset of the catalogue's facet index, read once
    facets = {}
    for name in fields:
        if name in rules.BY_CKAN:
            if catalogued is None:
                index = facet_counts.index()
                catalogued = index.of_ids(db.session.scalars(ids))
            counts = index.counts(rules.BY_CKAN[name].name, catalogued).items()
        else:
            counts = db.session.execute(_SQL_FACETS[name](ids)).all() if name in _SQL_FACETS else []
        items = sorted(((v, n) for v, n in counts if n >= mincount), key=lambda i: (-i[1], i[0]))
        facets[name] = dict(items if limit < 0 else items[:limit])
    return facets


def _search_facets(facets: dict) -> dict:
    titles = {
        "organization": dict(db.session.execute(select(Department.name, Department.title)).all()),
        "groups": dict(db.session.execute(select(Theme.name, Theme.title)).all()),
    } if facets else {}  # fmt: skip
    out = {}
    for field, counts in facets.items():
        names = titles.get(field, {})
        items = [{"name": v, "display_name": names.get(v) or v, "count": n} for v, n in counts.items()]
        out[field] = {"title": field, "items": sorted(items, key=lambda i: i["display_name"], reverse=True)}
    return out
