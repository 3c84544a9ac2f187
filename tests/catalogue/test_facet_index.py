"""Facet counts and totals from the in-memory bitsets agree with SQL over a random catalogue,
and the caches they live in keep, reuse and drop entries as they say."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from catalogue_factories import BASE_TIME, make_dataset, make_department, make_theme
from sqlalchemy import event, text

from portal.catalogue import facet_index, loading, search, search_cache
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL, WITHDRAWN
from portal.extensions import db

# What each facet counts, in plain SQL: (value, dataset id) pairs of the published datasets.
ORACLE = {
    "department": "SELECT dp.name, d.id FROM datasets d JOIN departments dp ON dp.id = d.department_id",
    "region": "SELECT r.code, d.id FROM datasets d JOIN departments dp ON dp.id = d.department_id "
    "JOIN regions r ON r.id = dp.region_id",
    "theme": "SELECT t.name, d.id FROM datasets d JOIN dataset_themes dt ON dt.dataset_id = d.id "
    "JOIN themes t ON t.id = dt.theme_id",
    "tag": "SELECT t.name, d.id FROM datasets d JOIN dataset_tags dt ON dt.dataset_id = d.id "
    "JOIN tags t ON t.id = dt.tag_id",
    "format": "SELECT DISTINCT r.format, d.id FROM datasets d JOIN resources r ON r.dataset_id = d.id "
    "WHERE r.state = 'active' AND r.format != ''",
    "open_condition": "SELECT d.open_condition, d.id FROM datasets d",
}
FIELDS = {
    "department": "departments",
    "region": "regions",
    "theme": "themes",
    "tag": "tags",
    "format": "formats",
    "open_condition": "open_conditions",
}
PUBLISHED_IDS = "SELECT id FROM datasets WHERE state = 'published'"


def oracle() -> dict[str, dict[str, set[int]]]:
    """Published dataset ids per facet value, read with SQL."""
    published = set(db.session.scalars(text(PUBLISHED_IDS)))
    carrying: dict[str, dict[str, set[int]]] = {}
    for facet, statement in ORACLE.items():
        carrying[facet] = {}
        for value, dataset_id in db.session.execute(text(statement)):
            if dataset_id in published:
                carrying[facet].setdefault(value, set()).add(dataset_id)
    carrying["*"] = {"*": published}
    return carrying


def expected(carrying, query: search.SearchQuery, matched: set[int] | None):
    """The total and each facet's counts of `query`, from the oracle's sets."""

    def results(skip: str = "") -> set[int]:
        chosen = set(matched if matched is not None else carrying["*"]["*"])
        for facet, field in FIELDS.items():
            values = getattr(query, field)
            if values and facet != skip:
                chosen &= set().union(*(carrying[facet].get(v, set()) for v in values))
        return chosen

    counts = {}
    for facet in FIELDS:
        within = results(skip=facet)
        counts[facet] = {v: len(ids & within) for v, ids in carrying[facet].items() if ids & within}
    return len(results()), counts


@pytest.fixture
def random_catalogue(app):
    rng = random.Random(20261126)
    departments = [
        make_department(region_code=code, title=f"部门{n}", name=f"dep-{n}")
        for n, code in enumerate(["330402", "330411", "330421", "330481", "330483", "330400"])
    ]
    themes = [make_theme(f"主题{n}", name=f"theme-{n}") for n in range(5)]
    tags = [f"标签{n}" for n in range(12)]
    formats = ["CSV", "XLSX", "JSON", "API", "PDF"]
    for n in range(120):
        make_dataset(
            title=f"数据集{n}",
            name=f"ds-{n}",
            department=rng.choice([*departments, None]),
            themes=rng.sample(themes, rng.randint(0, 2)),
            tags=rng.sample(tags, rng.randint(0, 4)),
            resources=[
                {"format": rng.choice(formats), "state": rng.choice(["active"] * 5 + ["removed"])}
                for _ in range(rng.randint(0, 3))
            ],
            open_condition=rng.choice([UNCONDITIONAL, CONDITIONAL]),
            state=rng.choice(["published"] * 9 + [WITHDRAWN]),
            index=False,
        )
    db.session.commit()
    return rng


def random_query(rng, carrying) -> search.SearchQuery:
    filters = {}
    for facet, field in FIELDS.items():
        if rng.random() < 0.4:
            known = sorted(carrying[facet])
            filters[field] = tuple(rng.sample(known, min(len(known), rng.randint(1, 2))))
            if rng.random() < 0.1:
                filters[field] += ("不存在的值",)
    return search.SearchQuery(**filters)


def test_bitset_facets_and_totals_agree_with_sql(random_catalogue):
    rng = random_catalogue
    carrying = oracle()
    for _ in range(60):
        query = random_query(rng, carrying)
        search_cache.clear()
        result = search.search_datasets(query)
        total, counts = expected(carrying, query, None)
        assert result.total == total, query
        for facet, field in FIELDS.items():
            got = {f.value: f.count for f in result.facets[facet] if f.count}
            # each facet lists its FACET_LIMIT values by count; this catalogue has fewer
            assert got == counts[facet], (facet, query)
            chosen = set(getattr(query, field))
            assert {f.value for f in result.facets[facet] if f.selected} == chosen


def test_bitset_facets_within_a_text_match_agree_with_sql(random_catalogue):
    rng = random_catalogue
    carrying = oracle()
    index = facet_index.build()
    published = sorted(carrying["*"]["*"])
    for _ in range(20):
        matched = set(rng.sample(published, rng.randint(0, len(published))))
        query = random_query(rng, carrying)
        within = index.of_ids(matched | {10**6})  # an id that is no dataset counts for nothing
        total, counts = expected(carrying, query, matched)
        for facet in FIELDS:
            base = within
            for other, other_field in FIELDS.items():
                if other != facet and getattr(query, other_field):
                    base &= index.any_of(other, getattr(query, other_field))
            assert index.counts(facet, base) == counts[facet]
        every = within
        for facet, field in FIELDS.items():
            if getattr(query, field):
                every &= index.any_of(facet, getattr(query, field))
        assert every.bit_count() == total


def test_withdrawn_datasets_and_removed_resources_count_for_nothing(app):
    make_dataset(title="撤回的", tags=["旧"], resources=[{"format": "CSV"}], state=WITHDRAWN, index=False)
    make_dataset(title="在的", tags=["新"], resources=[{"format": "XLSX", "state": "removed"}], index=False)
    db.session.commit()
    index = facet_index.build()
    assert index.everything.bit_count() == 1
    assert index.counts("tag", index.everything) == {"新": 1}
    assert index.counts("format", index.everything) == {}
    assert "旧" not in index.bitsets["tag"] and "CSV" not in index.bitsets["format"]


def test_stamped_cache_keeps_an_entry_while_its_stamp_holds_and_its_time_lasts(clock):
    cache, made = search_cache.StampedCache(size=2, ttl=30), []

    def compute():
        made.append(clock.now)
        return len(made)

    assert cache.get("k", compute, stamp=1) == 1
    assert cache.get("k", compute, stamp=1) == 1
    assert cache.get("k", compute, stamp=2) == 2  # the data changed
    clock.now += 31
    assert cache.get("k", compute, stamp=2) == 3  # too old
    cache.get("a", compute, stamp=1)
    cache.get("b", compute, stamp=1)  # the least recently used, "k", goes
    assert cache.get("k", compute, stamp=2) == 6


def test_stamped_cache_reuses_a_young_entry_for_another_stamp_only_when_asked(clock):
    cache, made = search_cache.StampedCache(size=4, ttl=600), []

    def compute():
        made.append(clock.now)
        return len(made)

    assert cache.get("index", compute, stamp=1, reuse_within=15) == 1
    clock.now += 5
    assert cache.get("index", compute, stamp=2, reuse_within=15) == 1  # changing fast: reused
    assert cache.get("index", compute, stamp=2) == 2  # not asked to reuse
    clock.now += 16
    assert cache.get("index", compute, stamp=3, reuse_within=15) == 3  # older than the window


def test_the_catalogue_page_lags_a_changing_catalogue_by_the_reuse_window_at_most(app, client, clock):
    app.config["CATALOGUE_INDEX_REUSE_SECONDS"] = 15.0
    theme = make_theme("主题甲", name="jia")
    make_dataset(title="第一个", themes=[theme], index=False)
    db.session.commit()
    assert search.search_datasets(search.SearchQuery()).facets["theme"][0].count == 1
    make_dataset(title="第二个", themes=[theme], index=False)
    db.session.commit()
    clock.now += 5
    assert search.search_datasets(search.SearchQuery()).facets["theme"][0].count == 1  # within the window
    clock.now += 11
    assert search.search_datasets(search.SearchQuery()).facets["theme"][0].count == 2


@pytest.fixture
def shuffled_catalogue(app):
    """Datasets whose change times tie and run against their ids, some withdrawn."""
    rng = random.Random(20261206)
    themes = [make_theme(f"主题{n}", name=f"theme-{n}") for n in range(3)]
    for n in range(80):
        make_dataset(
            title=f"数据集{n}",
            themes=rng.sample(themes, rng.randint(0, 2)),
            tags=rng.sample(["甲", "乙", "丙"], rng.randint(0, 2)),
            resources=[{"format": rng.choice(["CSV", "XLSX"])}],
            modified=BASE_TIME + timedelta(hours=rng.randint(0, 15)),
            state=rng.choice(["published"] * 5 + [WITHDRAWN]),
            index=False,
        )
    db.session.commit()
    return rng


def test_a_listing_newest_first_is_picked_from_the_index_in_the_order_sql_gives(shuffled_catalogue):
    rng = shuffled_catalogue
    carrying = oracle()
    newest = list(db.session.scalars(text(f"{PUBLISHED_IDS} ORDER BY metadata_modified DESC, id DESC")))
    for _ in range(40):
        query = replace(
            random_query(rng, carrying),
            sort=rng.choice(["relevance", "updated"]),
            page=rng.randint(1, 4),
            per_page=rng.randint(1, 12),
        )
        result = search.search_datasets(query, load=list, highlight=False)
        chosen = expected_ids(carrying, query)
        in_order = [i for i in newest if i in chosen]
        start = (query.page - 1) * query.per_page
        assert result.items == in_order[start : start + query.per_page], query
        assert result.total == len(in_order)


def test_a_filtered_listing_runs_no_statement_over_the_catalogue(shuffled_catalogue, app):
    search.search_datasets(search.SearchQuery())  # the index is built once per catalogue
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        query = search.SearchQuery(tags=("甲",), themes=("theme-1",), page=2, per_page=5)
        search.search_datasets(query, load=loading.load_versions, highlight=False)  # as the page asks
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # the catalogue's generation, then the page's datasets by id: nothing filters or sorts the catalogue
    assert len(statements) == 2 and not [s for s in statements if "ORDER BY" in s], statements


def test_a_listing_from_an_index_older_than_the_catalogue_is_listed_by_sql(app, clock):
    app.config["CATALOGUE_INDEX_REUSE_SECONDS"] = 15.0
    make_dataset(title="第一个", index=False)
    db.session.commit()
    assert search.search_datasets(search.SearchQuery()).total == 1
    second = make_dataset(title="第二个", index=False)
    db.session.commit()
    clock.now += 5
    result = search.search_datasets(search.SearchQuery())
    assert result.total == 1  # the counts lag within the window ...
    assert result.items[0].id == second.id  # ... the page does not: a dataset since withdrawn is never listed


def expected_ids(carrying, query: search.SearchQuery) -> set[int]:
    """The published datasets carrying a chosen value of each facet of `query`, from the oracle's sets."""
    chosen = set(carrying["*"]["*"])
    for facet, field in FIELDS.items():
        if getattr(query, field):
            chosen &= set().union(*(carrying[facet].get(v, set()) for v in getattr(query, field)))
    return chosen
