"""The API budgets' arithmetic: what a call costs, and whether the standard tools can read a catalogue.

No app, no database: `portal.api.costs` is pure. The defaults are read from `portal.config`, so a
change of defaults that would make `ckanapi dump` or a harvester meet a 429 fails here.
"""

from __future__ import annotations

import pytest

from portal import config
from portal.api import costs
from portal.api.costs import Cost


def test_ckanapi_dump_costs_a_request_and_a_row_per_dataset_plus_the_list():
    assert costs.ckanapi_dump(10_000) == Cost(requests=10_001, rows=10_010)


def test_paging_package_search_by_a_thousand_costs_a_thousand_rows_a_page_and_the_empty_last_one():
    assert costs.package_search_pages(10_000) == Cost(requests=11, rows=11_000)
    assert costs.package_search_pages(10_500) == Cost(requests=11, rows=11_000)
    assert costs.package_search_pages(200, rows=20) == Cost(requests=11, rows=220)


def test_default_token_budgets_let_both_standard_reads_of_10000_datasets_through_in_one_window():
    both = costs.catalogue_read(10_000)
    assert both == Cost(requests=10_012, rows=21_010)
    assert costs.fits(both, config.API_RATELIMIT_TOKEN, config.API_RATELIMIT_TOKEN_ROWS)


def test_a_budget_of_requests_alone_would_stop_the_dump_however_few_rows_it_reads():
    # The old default (600 requests a minute per token) met a 429 at the 601st package_show.
    assert not costs.fits(costs.ckanapi_dump(10_000), "600 per minute", config.API_RATELIMIT_TOKEN_ROWS)


def test_a_whole_catalogue_needs_a_token_at_the_anonymous_defaults():
    anonymous = (config.API_RATELIMIT_ANONYMOUS, config.API_RATELIMIT_ANONYMOUS_ROWS)
    assert not costs.fits(costs.ckanapi_dump(10_000), *anonymous)
    assert not costs.fits(costs.package_search_pages(10_000), *anonymous)
    assert costs.fits(Cost(1, costs.CKAN_ROWS_MAX), *anonymous)  # one full page is within reach


def test_an_anonymous_harvester_paging_by_100_gets_60_pages_a_minute():
    # ckanext-harvest's CKAN harvester pages package_search with rows=100, often without a key.
    anonymous = (config.API_RATELIMIT_ANONYMOUS, config.API_RATELIMIT_ANONYMOUS_ROWS)
    assert costs.fits(Cost(60, 60 * 100), *anonymous)
    assert not costs.fits(Cost(61, 61 * 100), *anonymous)


def test_an_anonymous_dcat_harvester_reads_10000_datasets_in_one_window():
    pages = costs.dcat_pages(10_000, config.DCAT_PAGE_SIZE)
    assert pages == Cost(50, 50)
    assert costs.fits(pages, config.API_RATELIMIT_ANONYMOUS, config.API_RATELIMIT_ANONYMOUS_ROWS)


def test_every_limit_of_a_list_must_hold():
    assert costs.fits(Cost(10, 10), "10 per minute; 100 per day", "10 per minute")
    assert not costs.fits(Cost(10, 10), "10 per minute; 5 per second", "10 per minute")


@pytest.mark.parametrize(
    ("action", "params", "rows"),
    [
        ("package_search", {}, 10),  # CKAN's default rows
        ("package_search", {"rows": "1000"}, 1000),
        ("package_search", {"rows": 5000}, 1000),  # capped as the action caps it
        ("package_search", {"rows": "0"}, 1),  # a count-only search still costs a row
        ("package_search", {"rows": "多"}, 10),  # the action refuses it; charged as the default
        ("package_search", {"rows": "-5"}, 10),
        ("package_show", {"id": "x"}, 1),
        ("package_list", {}, 10),  # 10,000 names: one row per thousand
        ("package_list", {"limit": "100"}, 1),
        ("package_list", {"limit": "0"}, 10),  # CKAN reads 0 as no limit
        ("package_list", {"limit": "99999"}, 10),  # no more than the catalogue holds
        ("organization_list", {"all_fields": True}, 1),
        ("status_show", {}, 1),
    ],
)
def test_ckan_calls_cost_the_rows_they_ask_for(action, params, rows):
    assert costs.ckan_action_rows(action, params, lambda: 10_000) == rows


def test_the_catalogue_is_counted_only_for_package_list():
    def refuse() -> int:
        raise AssertionError("counted the catalogue for a call that does not list it")

    assert costs.ckan_action_rows("package_search", {"rows": 50}, refuse) == 50


@pytest.mark.parametrize(
    ("per_page", "rows"),
    [(None, 20), ("100", 100), ("5000", 100), ("abc", 20), ("0", 1), ("-3", 20), ("1", 1)],
)
def test_v1_dataset_lists_cost_their_page_size(per_page, rows):
    assert costs.page_rows(per_page, 20, 100) == rows


def test_rows_of_a_table_cost_a_row_per_hundred_records():
    assert costs.ckan_action_rows("datastore_search", {}, lambda: 0) == 1  # CKAN's default limit, 100
    assert costs.ckan_action_rows("datastore_search", {"limit": "1000"}, lambda: 0) == 10
    assert costs.ckan_action_rows("datastore_search", {"limit": 10**9}, lambda: 0) == 320  # capped at 32,000
    assert costs.ckan_action_rows("datastore_search", {"limit": "-5"}, lambda: 0) == 1
    assert [costs.records_rows(n) for n in (0, 1, 100, 101, 100_000)] == [1, 1, 1, 2, 1000]
