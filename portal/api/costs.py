"""What an API call costs against its caller's budgets, and what reading a whole catalogue costs.

Each caller has two budgets per window (see `auth`): requests, and rows, the datasets its calls
ask for. A call costs one request and as many rows as it may return: `package_search` its `rows`
(CKAN's default 10, at most 1,000), `/api/v1/datasets` its `per_page`, `package_show` one; a list
of names costs one row per thousand names; other calls one row, a DCAT page included (its
harvesters carry no token; see `dcat_pages`). Rows are charged before the call
runs, on what it asks for, so a search of 1,000 rows costs 1,000 even when fewer come back.

Counting rows, not only requests, is what lets the standard tools read a large catalogue at the
default limits while the heavy calls stay bounded: `ckanapi dump datasets --all` makes one
request per dataset (many cheap calls), a harvester paging `package_search` by 1,000 makes few
expensive ones, and both read about as many rows as the catalogue holds. `catalogue_read` and
`fits` do that arithmetic; a test checks it against the defaults at 10,000 datasets.

Pure functions: no app, no database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from limits import parse_many

CKAN_ROWS_DEFAULT = 10  # CKAN's package_search default
CKAN_ROWS_MAX = 1000  # ckan.search.rows_max
NAMES_PER_ROW = 1000  # a name costs far less than a dataset
RECORDS_PER_ROW = 100  # rows of a table (datastore_search, /api/v1/…/rows) cost a row per hundred
DATASTORE_LIMIT_DEFAULT = 100  # CKAN's datastore_search default
DATASTORE_LIMIT_MAX = 32_000  # ckan.datastore.search.rows_max


@dataclass(frozen=True)
class Cost:
    requests: int
    rows: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.requests + other.requests, self.rows + other.rows)


def _natural(value: object, default: int) -> int:
    """Read a count as the action will; anything it would refuse costs the default."""
    try:
        number = int(str(value).strip()) if value is not None and str(value).strip() else default
    except ValueError:
        return default
    return number if number >= 0 else default


def names_rows(names: int) -> int:
    """Return the rows a list of `names` names costs: one per thousand, at least one."""
    return max(1, math.ceil(names / NAMES_PER_ROW))


def ckan_action_rows(action: str, params: dict, published: Callable[[], int]) -> int:
    """Return the rows a CKAN action call asks for; `published` counts the catalogue when needed."""
    if action == "package_search":
        return max(1, min(_natural(params.get("rows"), CKAN_ROWS_DEFAULT), CKAN_ROWS_MAX))
    if action == "package_list":
        limit = _natural(params.get("limit"), 0)
        total = published()
        return names_rows(min(limit, total) if limit else total)  # CKAN reads 0 as no limit
    if action == "datastore_search":
        limit = min(_natural(params.get("limit"), DATASTORE_LIMIT_DEFAULT), DATASTORE_LIMIT_MAX)
        return records_rows(limit)
    return 1


def records_rows(records: int) -> int:
    """Return the rows asking for `records` rows of a table costs: one per hundred, at least one."""
    return max(1, math.ceil(records / RECORDS_PER_ROW))


def page_rows(per_page: object, default: int, maximum: int) -> int:
    """Return the rows a /api/v1 dataset list asks for: its page size (a view marked with
    `v1.charges_rows`; any other /api/v1 call costs one row)."""
    return max(1, min(_natural(per_page, default), maximum))


def package_search_pages(datasets: int, rows: int = CKAN_ROWS_MAX) -> Cost:
    """Return the cost of paging `package_search` by `rows` through `datasets` datasets.

    The pager stops at the first short page, or at an empty one when the last page is full.
    """
    pages = datasets // rows + 1
    return Cost(pages, pages * rows)


def ckanapi_dump(datasets: int) -> Cost:
    """Return the cost of `ckanapi dump datasets --all`: package_list, then package_show per dataset."""
    return Cost(1, names_rows(datasets)) + Cost(datasets, datasets)


def dcat_pages(datasets: int, page_size: int) -> Cost:
    """Return the cost of reading a DCAT catalogue page by page: a request and a row per page."""
    pages = max(1, math.ceil(datasets / page_size))
    return Cost(pages, pages)


def catalogue_read(datasets: int) -> Cost:
    """Return the cost of both standard reads of a catalogue, one after the other."""
    return ckanapi_dump(datasets) + package_search_pages(datasets)


def fits(cost: Cost, requests_limit: str, rows_limit: str) -> bool:
    """Tell whether `cost` fits in one window of every limit, so that however fast the caller goes,
    the work never meets a 429."""
    return all(cost.requests <= item.amount for item in parse_many(requests_limit)) and all(
        cost.rows <= item.amount for item in parse_many(rows_limit)
    )
