"""Search a row table as CKAN's `datastore_search` does: read its parameters, refuse bad ones, answer.

`parse` reads CKAN's parameters (`filters`, `q`, `plain`, `distinct`, `fields`, `sort`, `limit`, `offset`,
`include_total`, `records_format`) against the table's fields and raises `Invalid` with CKAN's
validation-error dict (field -> messages) for what CKAN would refuse: unknown fields, malformed filters,
values a field cannot hold, a bad sort, a negative or non-integer limit. `run` answers with records,
fields and total. Personal fields are masked in every answer, and may not be filtered, searched or sorted
on (each such query would tell the hidden value one guess at a time). Full-text `q` matches the row's
non-personal text by the catalogue's terms (Chinese by bigrams); a `q` object matches per field.

Rows are answered in `_id` order unless `sort` says otherwise (CKAN ranks full-text matches first; here
the order stays the table's, so that paging with `offset` is stable).

The total is bounded work. A table's rows are numbered 1 to n with none ever deleted (a load builds the
table anew), so the total of a search without conditions is its largest `_id`, one index lookup, exact
as CKAN's. Otherwise matching rows are counted up to COUNT_MAX, past which PostgreSQL answers its
planner's estimate, flagged `total_was_estimated` as CKAN flags its own estimates (SQLite, which has no
estimates, counts them all: from its indexes, or from the FTS5 index for a text search alone); a
full-text search of single terms alone is counted exactly from PostgreSQL's GIN index, reading no row,
up to that same bound of its estimate: as the page's own statement scans the index (`_tallied_page`,
the count read from the index's statistics), else apart (`_indexed_count`); a
full-text search the planner expects to match over COUNT_SKIPPED_FROM times COUNT_MAX rows is not
counted at all, and its page is read from a bounded walk of the table's first rows (`_windowed`). CKAN
counts every matching row unless the caller passes `total_estimation_threshold` (CKAN 2.9+), whose
estimate above the threshold it answers instead; that parameter is taken here too.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from portal import inputs
from portal.api import ckan_params
from portal.catalogue import masking, terms
from portal.rows import direct, store

DEFAULT_LIMIT = 100  # CKAN's
MAX_LIMIT = 32_000  # ckan.datastore.search.rows_max
BIGGEST = 2**62
MAX_FILTER_VALUES = 1000
MAX_Q = 500
COUNT_MAX = 20_000  # matching rows counted one by one for a total; past that, PostgreSQL estimates
COUNT_SKIPPED_FROM = 4  # PostgreSQL: an estimate of over this many times COUNT_MAX matches is not counted
WINDOW_SLACK = 4  # PostgreSQL: a window of rows expected to hold this many times the matches a page needs
WINDOW_MAX = 100_000  # PostgreSQL: rows a page's window walk may pass at most
# the same, for a search whose matches the text index counts exactly (see _tallied_page): a single term's
# estimate is close (1.5 times held each of 436 windowed pages of the benchmark's words, 1.25 times fell
# short for 3 %), and the bitmap of the window's `_id`s is some 40 % of such a page's statement (1.1-1.3
# of 2.3-2.9 ms for a term in 4,500 of 1,000,000 rows), so twice the matches cost 10 % of a call more
INDEXED_WINDOW_SLACK = Fraction(3, 2)
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")
SHORTEST_MASKED = 11  # characters of the shortest text masking.mask_text changes (a mobile number)
ID = store.Field("_id", "int", "_id")
_SORT_ITEM = re.compile(r'\s*(?:"((?:[^"]|"")+)"|([^\s,"]+))(?:\s+(asc|desc))?\s*$', re.IGNORECASE)


class Invalid(Exception):
    """A parameter CKAN would refuse: `errors` maps each parameter to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class Search:
    fields: list[store.Field]  # what the answer holds, `_id` included when asked for
    filters: list[tuple[store.Field, list]] = field(default_factory=list)
    q: str = ""
    q_fields: list[tuple[store.Field, str]] = field(default_factory=list)
    distinct: bool = False
    sort: list[tuple[store.Field, bool]] = field(default_factory=list)  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    include_total: bool = True
    total_estimation_threshold: int | None = None  # CKAN's: estimate a total above it, count one below
    records_format: str = "objects"
    truncated: bool = False  # limit was over MAX_LIMIT
    echo: dict = field(default_factory=dict)  # the parameters CKAN repeats in its answer
    text_index: bool | None = None  # SQLite: whether the table has its FTS5 table, when the caller knows
    # PostgreSQL, a full-text search: (the table's rows, the stamp of its statistics, its text index's
    # tally and scans so far, None without such an index), read with the table in the transaction the
    # search runs in (rows/tables.py `locate`); None: the search reads them itself (see _full_text)
    text_start: tuple | None = None


def _not_in_table(name: object) -> str:
    return f'field "{str(name)[:100]}" not in table'


def _personal(name: str) -> str:
    return f'field "{name[:100]}" holds personal data, masked: it cannot be filtered, searched or sorted on'


def _json(value: object, key: str, kinds: tuple[type, ...]) -> object:
    if isinstance(value, str):
        try:
            value = inputs.loads(value)
        except (ValueError, RecursionError):
            raise Invalid({key: ["Could not parse as valid JSON"]}) from None
        if ckan_params.has_nul(value):  # a "\u0000" escape: the callers checked the raw text only
            raise Invalid({key: ["Must not contain NUL characters"]})
    if not isinstance(value, kinds):
        raise Invalid({key: ["Not a json object" if dict in kinds else "Not a valid value"]})
    return value


def _natural(params: dict, key: str, default: int) -> int:
    raw = params.get(key)
    if isinstance(raw, bool) or isinstance(raw, dict | list):
        raise Invalid({key: ["Invalid integer"]})
    try:
        number = inputs.optional_number(None if raw is None else str(raw), default)
    except inputs.BadInput:
        raise Invalid({key: ["Invalid integer"]}) from None
    if number < 0:
        raise Invalid({key: ["Must be a natural number"]})
    return number


def _boolean(params: dict, key: str, default: bool) -> bool:
    value = params.get(key, default)
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "on", "y", "t", "1"):
        return True
    if lowered in ("false", "no", "off", "n", "f", "0", ""):
        return False
    raise Invalid({key: [f"Not a boolean: {str(value)[:40]!r}"]})


def _names(value: object, key: str) -> list[str]:
    """Read a list of strings, or a comma-separated string, as CKAN's list_of_strings_or_string."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise Invalid({key: ["Not a list of strings"]})


def parse(params: dict, table_fields: Sequence[store.Field]) -> Search:
    """Read CKAN's datastore_search parameters against a table's fields; raise Invalid."""
    by_name = {f.id: f for f in (ID, *table_fields)}

    def known(name: object, key: str) -> store.Field:
        found = by_name.get(name) if isinstance(name, str) else None
        if found is None:
            raise Invalid({key: [_not_in_table(name)]})
        return found

    def queryable(name: object, key: str) -> store.Field:
        found = known(name, key)
        if found.personal:
            raise Invalid({key: [_personal(found.id)]})
        return found

    search = Search(fields=[ID, *table_fields])
    if params.get("fields") not in (None, "", []):
        names = dict.fromkeys(_names(params["fields"], "fields"))
        if not names:  # only blanks or commas: a SELECT of no column
            raise Invalid({"fields": ["Name at least one field"]})
        search.fields = [known(n, "fields") for n in names]
        search.echo["fields"] = params["fields"]
    if params.get("filters") not in (None, ""):
        filters = _json(params["filters"], "filters", (dict,))
        for name, wanted in filters.items():
            column = queryable(name, "filters")
            values = wanted if isinstance(wanted, list) else [wanted]
            if len(values) > MAX_FILTER_VALUES or not values:
                raise Invalid({"filters": [f"between 1 and {MAX_FILTER_VALUES} values for a field"]})
            search.filters.append((column, [_filter_value(column, v) for v in values]))
        search.echo["filters"] = filters
    q = params.get("q")
    if q not in (None, ""):
        if isinstance(q, str) and q.lstrip().startswith("{"):
            q = _json(q, "q", (dict,))
        if isinstance(q, dict):
            for name, text in q.items():
                if not isinstance(text, str):
                    raise Invalid({"q": [f'the query of field "{str(name)[:100]}" must be a string']})
                search.q_fields.append((queryable(name, "q"), text[:MAX_Q]))
        elif isinstance(q, str):
            search.q = q[:MAX_Q]
        else:
            raise Invalid({"q": ["Must be a string or a json object"]})
        search.echo["q"] = params["q"]
    sort = params.get("sort")
    if sort not in (None, "", []):
        items = sort if isinstance(sort, list) else str(sort).split(",")
        for item in items:
            match = _SORT_ITEM.match(item) if isinstance(item, str) else None
            if match is None:
                raise Invalid({"sort": [f"Cannot sort by {str(item)[:100]!r}"]})
            name = match[1].replace('""', '"') if match[1] is not None else match[2]
            search.sort.append((queryable(name, "sort"), (match[3] or "asc").lower() == "desc"))
        search.echo["sort"] = sort
    search.limit = _natural(params, "limit", DEFAULT_LIMIT)
    if search.limit > MAX_LIMIT:
        search.limit, search.truncated = MAX_LIMIT, True
    search.offset = min(_natural(params, "offset", 0), BIGGEST)
    if "offset" in params:
        search.echo["offset"] = search.offset
    search.distinct = _boolean(params, "distinct", False)
    search.include_total = _boolean(params, "include_total", True)
    if params.get("total_estimation_threshold") not in (None, ""):
        search.total_estimation_threshold = min(_natural(params, "total_estimation_threshold", 0), BIGGEST)
        search.echo["total_estimation_threshold"] = search.total_estimation_threshold
    if "plain" in params:
        search.echo["plain"] = _boolean(params, "plain", True)
    if "distinct" in params:
        search.echo["distinct"] = search.distinct
    records_format = params.get("records_format", "objects")
    if records_format not in RECORDS_FORMATS:
        raise Invalid({"records_format": [f"Value must be one of {list(RECORDS_FORMATS)}"]})
    search.records_format = records_format
    return search


def _filter_value(column: store.Field, value: object) -> object:
    if isinstance(value, dict | list) and column.storage != store.JSON:
        raise Invalid({"filters": [f'invalid value for field "{column.id[:100]}"']})
    try:
        converted = store.convert(value, column.storage)
    except (ValueError, TypeError, OverflowError):
        raise Invalid(
            {"filters": [f'invalid value for field "{column.id[:100]}": {str(value)[:40]!r}']}
        ) from None
    if isinstance(converted, int) and not -(2**63) <= converted < 2**63:
        raise Invalid({"filters": [f'invalid value for field "{column.id[:100]}": {str(value)[:40]!r}']})
    return converted


# -- statements by shape --------------------------------------------------------------------------------
#
# A search's statements depend on its shape (the fields it selects, the fields it filters on and how many
# values each, the kind of text search, the fields searched, distinct, sort), its values aside. Each shape's
# statements are built once per process with named bind parameters, and a call passes its values: building
# a Select and its cache key on every call was most of a call's own Python in query.run, and PostgreSQL's
# full-text EXPLAINs compiled the statement anew every time.

TSQUERY, FTS, SCAN = "tsquery", "fts", "scan"  # how a full-text `q` is matched (see _text_kind)
_LIMIT = sa.bindparam("limit", type_=sa.BigInteger)  # a page's, in every statement of a page
_OFFSET = sa.bindparam("offset", type_=sa.BigInteger)  # up to 2**62 (parse): past PostgreSQL's INTEGER


class Shaped(NamedTuple):
    """A search's statement, the same object for every search of its shape, and this search's values."""

    statement: sa.Select
    params: dict


def _text_kind(units: list[terms.Unit], dialect: str, text_index: bool) -> tuple | None:
    """How the units are matched: PostgreSQL's tsquery, SQLite's FTS5 table, else a scan of the row's
    terms (a unit a condition)."""
    if not units:
        return None
    if dialect == "postgresql":
        return (TSQUERY,)
    return (FTS,) if text_index else (SCAN, len(units))


def _shaped(
    conn: sa.Connection, described: sa.Table, table_name: str, search: Search, units: list[terms.Unit]
) -> Shaped:
    """The search's statement (its shape's, see above) and the values of its parameters."""
    dialect = conn.dialect.name
    text_index = bool(units) and dialect == "sqlite" and _has_text_index(conn, table_name, search)
    text_kind = _text_kind(units, dialect, text_index)
    filters = tuple(
        (column.column, sum(v is not None for v in values), None in values)
        for column, values in search.filters
    )
    shape = (
        tuple(f.column for f in search.fields),
        filters,
        text_kind,
        tuple(column.column for column, _ in search.q_fields),
        search.distinct,
    )
    params = {}
    for i, (_, values) in enumerate(search.filters):
        params.update((f"f{i}_{j}", v) for j, v in enumerate(v for v in values if v is not None))
    if text_kind == (TSQUERY,):
        params["q"] = terms.tsquery(units)
    elif text_kind == (FTS,):
        params["q"] = terms.fts5_query(units)
    elif text_kind is not None:
        params.update((f"t{k}", pattern) for k, pattern in enumerate(_scanned_patterns(units)))
    for i, (_, text) in enumerate(search.q_fields):
        params[f"p{i}"] = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
    return Shaped(_statement(described, table_name, *shape), params)


def _scanned_patterns(units: list[terms.Unit]) -> list[str]:
    """SQLite without an FTS5 table (a small table): FTS5's matching, read from the row's terms themselves.
    Terms are space-separated in order and hold only [0-9a-z] and CJK characters, so a phrase is its
    terms next to each other, a word a whole term, and a character the start of a term, as in FTS5."""
    return [
        f"% {unit.text}%" if unit.kind == terms.CHARACTER else "% " + " ".join(unit.terms) + " %"
        for unit in units
    ]


@functools.lru_cache(maxsize=1024)
def _selected(described: sa.Table, columns: tuple[str, ...]) -> list[sa.Label]:
    """The labelled columns a search selects (built once per table and choice of fields)."""
    return [described.c[column].label(f"v{i}") for i, column in enumerate(columns)]


@functools.lru_cache(maxsize=512)
def _statement(
    described: sa.Table,
    table_name: str,
    columns: tuple[str, ...],
    filters: tuple[tuple[str, int, bool], ...],
    text_kind: tuple | None,
    q_columns: tuple[str, ...],
    distinct: bool,
) -> sa.Select:
    """A shape's statement: parameters f<filter>_<value>, q (the text query), t<unit> (scanned terms),
    p<field> (a field's pattern)."""
    statement = sa.select(*_selected(described, columns))
    for i, (name, present, has_none) in enumerate(filters):
        target = described.c[name]
        values = [sa.bindparam(f"f{i}_{j}", type_=target.type) for j in range(present)]
        matched = target == values[0] if present == 1 else target.in_(values)
        statement = statement.where(sa.or_(target.is_(None), matched) if has_none else matched)
    if text_kind == (TSQUERY,):
        query = sa.cast(sa.bindparam("q", type_=sa.String), postgresql.TSQUERY)
        vector = sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), described.c._terms)
        statement = statement.where(vector.op("@@")(query))
    elif text_kind == (FTS,):
        name = store.fts_name(table_name)
        fts = sa.table(name, sa.column("rowid"))
        matching = sa.select(fts.c.rowid).where(sa.literal_column(f'"{name}"').op("MATCH")(sa.bindparam("q")))
        statement = statement.where(described.c._id.in_(matching))
    elif text_kind is not None:
        padded = sa.literal(" ") + described.c._terms + sa.literal(" ")
        statement = statement.where(*[padded.like(sa.bindparam(f"t{k}")) for k in range(text_kind[1])])
    for i, name in enumerate(q_columns):
        pattern = sa.bindparam(f"p{i}", type_=sa.Text)
        statement = statement.where(sa.cast(described.c[name], sa.Text).like(pattern, escape="\\"))
    if distinct:
        statement = statement.distinct()
    return statement


def run(conn: sa.Connection, table_name: str, table_fields: Sequence[store.Field], search: Search) -> dict:
    """Answer a parsed search: {"fields", "records", "total"} in CKAN's shapes, masked."""
    dialect = conn.dialect.name
    described = store.table(table_name, table_fields, dialect)
    units = terms.query_units(search.q) if search.q else []
    if (
        dialect == "sqlite"
        and units
        and not (search.filters or search.q_fields or search.sort or search.distinct)
        and _has_text_index(conn, table_name, search)
    ):
        return _answer(search, *_text_only(conn, described, search, table_name, units))
    shaped = _shaped(conn, described, table_name, search, units)
    if dialect == "postgresql" and units and not search.distinct:
        return _answer(search, *_full_text(conn, described, shaped, search))
    if search.include_total and search.limit and search.total_estimation_threshold is None:
        return _answer(search, *_page_and_total(conn, described, shaped, search))
    total = _total(conn, described, shaped, search) if search.include_total else None
    rows = (
        direct.rows(conn, _page(described, shaped, search), _paging(shaped, search)) if search.limit else []
    )
    return _answer(search, rows, total)


def _page_and_total(
    conn: sa.Connection, described: sa.Table, shaped: Shaped, search: Search
) -> tuple[list, tuple[int, bool]]:
    """The page and its total (as _total counts it) in one statement where they took two: the count is a
    last column, an uncorrelated subquery both databases compute once for the whole page, and a round trip
    and a statement's execution less per call (issue 16: the filtered call's tail). A page with no row
    carries no count: with no offset there is no match at all, past the last match it is counted apart.
    PostgreSQL past COUNT_MAX asks its planner's estimate, as _total does."""
    postgresql = conn.dialect.name == "postgresql"
    plain = not (search.filters or search.q or search.q_fields or search.distinct)
    counted_from = None if plain else shaped.statement
    bound = COUNT_MAX + 1 if postgresql else None  # SQLite counts every match (see _total)
    page = _with_count(described, _page(described, shaped, search), counted_from, bound)
    rows = direct.rows(conn, page, _paging(shaped, search))
    if not rows:
        return [], _total(conn, described, shaped, search) if search.offset else (0, False)
    counted = rows[0][-1]
    rows = [row[:-1] for row in rows]
    if plain or not postgresql or counted <= COUNT_MAX:
        return rows, (counted, False)
    return rows, (max(_estimate(conn, shaped), counted), True)


@functools.lru_cache(maxsize=512)
def _with_count(
    described: sa.Table, page: sa.Select, statement: sa.Select | None, bound: int | None
) -> sa.Select:
    """A page with a last column counting `statement`'s rows (its first `bound` when given), or the
    table's largest `_id` when there is no statement (a search without conditions, see _last_id)."""
    counting = _largest_id(described) if statement is None else _counting(statement, bound)
    return page.add_columns(counting.scalar_subquery().correlate(None))


def _has_text_index(conn: sa.Connection, table_name: str, search: Search) -> bool:
    """SQLite: whether the table has its FTS5 table, as the caller read it with the table (the rows APIs:
    rows/tables.py `locate`), else asked now."""
    if search.text_index is not None:
        return search.text_index
    return store.has_text_index(conn, table_name)


def _paging(shaped: Shaped, search: Search) -> dict:
    return {**shaped.params, "limit": search.limit, "offset": search.offset}


def _page(described: sa.Table, shaped: Shaped, search: Search) -> sa.Select:
    """The page of the search's statement: in `sort`'s order, then `_id`'s, from `offset` (parameters
    limit and offset)."""
    sort = tuple((f.column, desc) for f, desc in search.sort)
    distinct = tuple(f.column for f in search.fields) if search.distinct else None
    return _ordered(described, shaped.statement, sort, distinct, bool(search.q))


@functools.lru_cache(maxsize=512)
def _ordered(
    described: sa.Table, statement: sa.Select, sort: tuple, distinct: tuple | None, by_text: bool
) -> sa.Select:
    order = [(described.c[column].desc() if desc else described.c[column].asc()) for column, desc in sort]
    if distinct is not None:
        order += [described.c[column] for column in distinct]  # only selected columns may order DISTINCT
    else:
        # with full text, `_id + 0`: walking the primary key in order and testing each row's text is the
        # plan PostgreSQL favours for LIMIT, and by far the slowest for a rare word; this keeps it on the
        # text index (a frequent word's page is read from a bounded walk instead, see _windowed)
        order.append(described.c._id + 0 if by_text else described.c._id)
    return statement.order_by(*order).limit(_LIMIT).offset(_OFFSET)


@functools.lru_cache(maxsize=512)
def _counted_over(page: sa.Select) -> sa.Select:
    """A page with the number of all its statement's rows in a last column (a window count)."""
    return page.add_columns(sa.func.count().over())


def _full_text(
    conn: sa.Connection, described: sa.Table, shaped: Shaped, search: Search
) -> tuple[list, tuple[int, bool] | None]:
    """PostgreSQL, a full-text search: its rows and total, read as the planner's estimate of its matches
    (one EXPLAIN) makes cheapest. Single terms on the text alone, not too many matches: the total from
    the text index (_indexed_count), the page from a window of the first rows. Else, few matches (at most
    COUNT_MAX) and a total wanted: one statement reads each match once for both the page and its count (a
    window count; ordered by `_id + 0`, the page reads every match anyway), where a count of its own read
    them all again. Many: the page from a bounded walk
    of the first rows in `_id` order (_windowed), the total counted up to COUNT_MAX, or not at all when the
    estimate is far past it (_total)."""
    compiled = _compiled(conn, shaped)
    tallies = search.include_total and search.total_estimation_threshold is None and _exact_in_index(search)
    begun = search.text_start
    if tallies and search.limit and begun is not None:  # the tally's start read with the table
        last, stamp, before = begun
        estimate, start = _estimate(conn, shaped, compiled, stamp), (last, before)
    elif tallies and search.limit:  # the tally's start read with the estimate, in its round trip
        estimate, start = _estimate_and_tally(conn, described, compiled)
    else:
        estimate, start = _estimate(conn, shaped, compiled, begun[1] if begun else None), None
    if tallies and estimate <= COUNT_SKIPPED_FROM * COUNT_MAX:
        rows, counted = (
            _tallied_page(conn, described, shaped, search, estimate, start) if start else (None, None)
        )
        if counted is not None:  # the page, and the total from the text index's scan that read it
            return rows, (counted, False)
        last, counted = _indexed_count(conn, described, compiled)
        if counted is not None and rows is not None:
            return rows, (counted, False)
        if counted is not None:  # the total from the index alone; the page from a window if it pays
            if not search.limit:
                return [], (counted, False)
            rows = _windowed(conn, described, shaped, search, counted, INDEXED_WINDOW_SLACK, last)
            if rows is None:
                rows = direct.rows(conn, _page(described, shaped, search), _paging(shaped, search))
            return rows, (counted, False)
    if (
        search.include_total
        and search.limit
        and search.total_estimation_threshold is None
        and estimate <= COUNT_MAX
    ):
        page = _counted_over(_page(described, shaped, search))
        rows = direct.rows(conn, page, _paging(shaped, search))
        if rows or not search.offset:
            return [row[:-1] for row in rows], (rows[0][-1] if rows else 0, False)
        return [], _total(conn, described, shaped, search, estimate)  # a page past the last match
    total = _total(conn, described, shaped, search, estimate) if search.include_total else None
    if not search.limit:
        return [], total
    last = start[0] if start else None  # read with the estimate when it was
    rows = _windowed(conn, described, shaped, search, estimate, last=last)
    if rows is None:
        rows = direct.rows(conn, _page(described, shaped, search), _paging(shaped, search))
    return rows, total


def _windowed(
    conn: sa.Connection,
    described: sa.Table,
    shaped: Shaped,
    search: Search,
    estimate: int,
    slack: int | Fraction = WINDOW_SLACK,
    last: int | None = None,
) -> list | None:
    """PostgreSQL, many matches in `_id` order: the page read from the first rows only, in a window of
    `_id`s expected to hold WINDOW_SLACK times the matches the page needs (a walk of the primary key that
    stops at the page's last row), where the text index's plan reads every match and sorts them. Return
    None when the window would pass WINDOW_MAX rows, or holds less than the page (the estimate was wrong,
    or the matches lie late in the table): the caller then reads the page as for few matches."""
    if search.sort or estimate <= 0:
        return None
    last = _last_id(conn, described) if last is None else last
    window = -(-(search.offset + search.limit) * last * slack // estimate)  # rounded up
    if window > WINDOW_MAX or window >= last:
        return None
    page = _in_window(described, shaped.statement)
    rows = direct.rows(conn, page, {**_paging(shaped, search), "window": window})
    return rows if len(rows) == search.limit else None


@functools.lru_cache(maxsize=512)
def _in_window(described: sa.Table, statement: sa.Select) -> sa.Select:
    """A statement's page among the rows up to `_id` window, in `_id` order (parameters window, limit,
    offset)."""
    window = statement.where(described.c._id <= sa.bindparam("window", type_=sa.BigInteger))
    return window.order_by(described.c._id).limit(_LIMIT).offset(_OFFSET)


def _tallied_page(
    conn: sa.Connection,
    described: sa.Table,
    shaped: Shaped,
    search: Search,
    estimate: int,
    start: tuple[int, tuple[int, int] | None],
) -> tuple[list | None, int | None]:
    """PostgreSQL, a full-text search `_exact_in_index` accepts, with a page: the page and the exact
    total from one scan of the text index, where reading the total apart (_indexed_count) scanned it a
    second time (each scan builds the bitmap of every match: half of such a search's work).

    The page's statement reads the GIN index's bitmap of all the matches whatever its window or limit
    (a Bitmap Index Scan always reads the whole posting list), and PostgreSQL adds the number of
    addresses it gave to the index's statistics of the transaction at once
    (`pg_stat_get_xact_tuples_returned`, the same number EXPLAIN ANALYZE shows for the scan, see
    _indexed_count; kept in the backend until it flushes them to the server's statistics, never in the
    middle of a statement or transaction, at most once a second, when it is idle). Read before the page
    and beside each of its rows (the column is computed as a row comes out, after the bitmap was built),
    the difference is the total, when the index's number of scans (read alike) grew by the page's one
    scan: else the statistics were flushed in between, and started again (or the plan scanned the index
    another number of times). The page comes from a window of the first rows sized on the planner's
    estimate (the exact total is not known before), or whole when the window would be the table or
    held less than the page (the total then read beside the whole page's rows, from where the window's
    statement left the statistics). Returns the page (None when the table has no text index) and the
    total, None when that difference cannot be read or cannot be the total: no row came out (the page
    is past the last match), the plan did not scan the text index (a small table's window is read
    through its primary key: a count lower than the rows read), or counts are not tracked. `start` is the
    table's largest `_id` and the index's (tally, scans) before the page (None: no such index; see
    _estimate_and_tally and Search.text_start)."""
    index = _index_name(described)
    last, before = start
    if before is None:  # no such index
        return None, None
    window = -(-(search.offset + search.limit) * last * INDEXED_WINDOW_SLACK // max(estimate, 1))
    whole = bool(search.sort) or window > WINDOW_MAX or window >= last
    page = _page(described, shaped, search) if whole else _in_window(described, shaped.statement)
    params = {**_paging(shaped, search), "index": index}
    if not whole:
        params["window"] = window
    tallied = direct.rows(conn, _tallying(page), params)
    counted = _tally(tallied, before, search)
    if len(tallied) < search.limit and not whole:  # the window held less than the page: read it whole
        page = _page(described, shaped, search)
        if counted is not None:
            return direct.rows(conn, page, _paging(shaped, search)), counted
        # counted from the whole page's scan, from where the window's statement left the tally
        if tallied:
            before = tallied[0][-2:]
        else:
            before = tuple(conn.execute(sa.select(_INDEX_TALLY, _INDEX_SCANS), {"index": index}).one())
        tallied = direct.rows(conn, _tallying(page), {**_paging(shaped, search), "index": index})
        counted = _tally(tallied, before, search)
    return [row[:-2] for row in tallied], counted


def _tally(tallied: list, before: tuple | None, search: Search) -> int | None:
    """The text index's count from a tallied page (see _tallied_page), None when it cannot be one."""
    if not tallied or before is None or None in before or None in tallied[0][-2:]:
        return None
    (tally, scans), (tally_before, scans_before) = tallied[0][-2:], before
    if scans != scans_before + 1:  # flushed in between, or not one scan of the index
        return None
    counted = tally - tally_before
    if counted < search.offset + len(tallied):  # not the text index's count (it was not scanned)
        return None
    return counted


def _index_name(described: sa.Table) -> str:
    """The qualified name of a row table's text index, as to_regclass reads it."""
    return f'{described.schema}."{described.name}_search_idx"'


def _estimate_and_tally(
    conn: sa.Connection, described: sa.Table, compiled: tuple[str, dict]
) -> tuple[int, tuple[int, tuple[int, int] | None]]:
    """PostgreSQL: the planner's estimate of a full-text search's matches (as _estimate), the table's
    largest `_id` and the addresses its text index gave and the scans it made so far (None when there is
    no such index: see _tallied_page), in one round trip where they took two. EXPLAIN without ANALYZE
    reads no row, so the tally it is sent with is the one before the page."""
    text, params = compiled
    sql = _ESTIMATED_AND_TALLIED.format(table=_qualified(described), query=text)
    params = {**params, "rows_index": _index_name(described)}
    with direct.sent_at_once(conn, sql, params) as cursor:  # two statements, one round trip
        plan = cursor.fetchone()[0]
        cursor.nextset()
        last, *before = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"]), (last, None if None in before else tuple(before))


_ESTIMATED_AND_TALLIED = """EXPLAIN (FORMAT JSON) {query};
SELECT (SELECT coalesce(max(_id), 0) FROM {table}),
pg_stat_get_xact_tuples_returned(to_regclass(%(rows_index)s)),
pg_stat_get_xact_numscans(to_regclass(%(rows_index)s))"""


@functools.lru_cache(maxsize=512)
def _tallying(page: sa.Select) -> sa.Select:
    """A page with the addresses its text index (parameter index) gave so far, and the scans it made, in
    two last columns."""
    return page.add_columns(_INDEX_TALLY, _INDEX_SCANS)


_INDEX_TALLY = sa.func.pg_stat_get_xact_tuples_returned(
    sa.func.to_regclass(sa.bindparam("index", type_=sa.Text)), type_=sa.BigInteger
)
_INDEX_SCANS = sa.func.pg_stat_get_xact_numscans(
    sa.func.to_regclass(sa.bindparam("index", type_=sa.Text)), type_=sa.BigInteger
)


def _exact_in_index(search: Search) -> bool:
    """Whether the text index alone tells a full-text search's matches exactly: a search on the text
    alone whose every unit is one term (an ASCII word, or two CJK characters: one bigram). A phrase of
    several bigrams, or a character's prefix, leaves PostgreSQL to recheck the rows themselves."""
    if search.filters or search.q_fields or search.distinct:
        return False
    units = terms.query_units(search.q)
    return bool(units) and all(u.kind != terms.CHARACTER and len(u.terms) == 1 for u in units)


def _indexed_count(
    conn: sa.Connection, described: sa.Table, compiled: tuple[str, dict]
) -> tuple[int, int | None]:
    """PostgreSQL: the table's largest `_id` (see _last_id) and the number of rows a full-text search
    matches, read from its GIN index alone, in one round trip.

    A count through SQL fetches every matching row from the table (PostgreSQL 15's bitmap scans visit
    each page, all-visible or not, and GIN has no index-only scans): about one table page per match, over
    4,000 pages for a word in 0.5 % of a million rows, most of such a search's work. The index's bitmap
    holds the matching rows' addresses, and EXPLAIN ANALYZE of a bitmap scan stopped at its first row
    tells how many there were: every address in the index is a row of the table (a row table is never
    updated or deleted from, and its indexes are built after its load, when rows of aborted batches are
    dead and left out), and for a search `_exact_in_index` accepts, no row needs a recheck. The planner
    is held to that plan inside a savepoint, whose rollback restores its settings. The count is None
    when the plan is not that bitmap scan (then the caller counts as before)."""
    text, params = compiled
    sql = _COUNTED_BY_INDEX.format(table=_qualified(described), query=text)
    with direct.sent_at_once(conn, sql, params) as cursor:  # several statements, one round trip
        last = cursor.fetchone()[0]
        while cursor.nextset() and cursor.description is None:
            continue  # past the savepoint and the settings, which return no rows
        plan = cursor.fetchone()[0]
        while cursor.nextset():
            continue  # past the rollback to the savepoint, and its release
    plan = json.loads(plan) if isinstance(plan, str) else plan
    node = plan[0]["Plan"]
    while node.get("Node Type") == "Limit" and len(node.get("Plans", ())) == 1:
        node = node["Plans"][0]
    children = node.get("Plans", ())
    if node.get("Node Type") != "Bitmap Heap Scan" or len(children) != 1:
        return last, None
    scan = children[0]
    if (
        scan.get("Node Type") != "Bitmap Index Scan"
        or scan.get("Index Name") != f"{described.name}_search_idx"
    ):
        return last, None
    return last, int(scan["Actual Rows"])


def _qualified(described: sa.Table) -> str:
    return f'{described.schema}."{described.name}"'


_COUNTED_BY_INDEX = """SELECT coalesce(max(_id), 0) FROM {table};
SAVEPOINT rows_count;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_indexscan = off;
SET LOCAL max_parallel_workers_per_gather = 0;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF, FORMAT JSON) {query} LIMIT 1;
ROLLBACK TO SAVEPOINT rows_count;
RELEASE SAVEPOINT rows_count"""


def _last_id(conn: sa.Connection, described: sa.Table) -> int:
    """The table's largest `_id`, its number of rows (rows are numbered 1..n and never deleted)."""
    return direct.scalar(conn, _largest_id(described), {})


@functools.lru_cache(maxsize=512)
def _largest_id(described: sa.Table) -> sa.Select:
    return sa.select(sa.func.coalesce(sa.func.max(described.c._id), 0))


def _total(
    conn: sa.Connection,
    described: sa.Table,
    shaped: Shaped,
    search: Search,
    estimate: int | None = None,
) -> tuple[int, bool]:
    """Return the number of rows the search selects and whether it is an estimate (see the module).
    PostgreSQL takes the planner's `estimate` when the caller has one (asks for it only when it must):
    past CKAN's threshold, or COUNT_SKIPPED_FROM times COUNT_MAX, it is the answer, uncounted."""
    if not (search.filters or search.q or search.q_fields or search.distinct):
        return _last_id(conn, described), False
    if conn.dialect.name != "postgresql":  # SQLite counts from its indexes, and has no estimates
        return direct.scalar(conn, _counting(shaped.statement, None), shaped.params), False
    threshold = search.total_estimation_threshold
    if estimate is None and threshold is not None:
        estimate = _estimate(conn, shaped)
    uncounted = COUNT_SKIPPED_FROM * COUNT_MAX if threshold is None else threshold
    if estimate is not None and estimate > uncounted:
        return estimate, True
    counted = direct.scalar(conn, _counting(shaped.statement, COUNT_MAX + 1), shaped.params)
    if counted <= COUNT_MAX:
        return counted, False
    return max(_estimate(conn, shaped) if estimate is None else estimate, counted), True


@functools.lru_cache(maxsize=512)
def _counting(statement: sa.Select, bound: int | None) -> sa.Select:
    """The count of a statement's rows, of its first `bound` rows when given."""
    counted = statement if bound is None else statement.limit(bound)
    return sa.select(sa.func.count()).select_from(counted.subquery())


def _compiled(conn: sa.Connection, shaped: Shaped) -> tuple[str, dict]:
    """PostgreSQL: the SQL text and parameters of the search's statement (without ORDER BY or LIMIT), for
    EXPLAIN: the text compiled once per shape."""
    text, defaults = _compiled_text(shaped.statement, conn.dialect)
    return text, {**defaults, **shaped.params}


@functools.lru_cache(maxsize=512)
def _compiled_text(statement: sa.Select, dialect: sa.Dialect) -> tuple[str, dict]:
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), compiled.params


def _estimate(
    conn: sa.Connection, shaped: Shaped, compiled: tuple[str, dict] | None = None, stamp: str | None = None
) -> int:
    """PostgreSQL: the planner's estimate of the rows the search selects (EXPLAIN; nothing is read).

    Kept in the process under the stamp of the table's statistics when the caller read it (when the
    table was loaded and last analyzed: Search.text_start): a row table is never written after its load,
    and its statistics change only when it is analyzed again, so the same statement with the same values
    is estimated alike until then. The next pages of a search, and the same words searched again, need no
    EXPLAIN (a round trip, and a fifth of the server's work for a search of one word, issue 16)."""
    text, params = compiled or _compiled(conn, shaped)
    key = None
    if stamp is not None:
        key = (stamp, text, repr(sorted(params.items())))
        kept = _ESTIMATES.get(key)
        if kept is not None:
            return kept
    ((plan,),) = direct.sql_rows(conn, f"EXPLAIN (FORMAT JSON) {text}", params)
    plan = json.loads(plan) if isinstance(plan, str) else plan
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    if key is not None:
        if len(_ESTIMATES) >= ESTIMATES_KEPT:  # a bound on the memory: start again
            _ESTIMATES.clear()
        _ESTIMATES[key] = estimate
    return estimate


ESTIMATES_KEPT = 4096
_ESTIMATES: dict[tuple, int] = {}


def _text_only(
    conn, described: sa.Table, search: Search, table_name: str, units
) -> tuple[list, tuple | None]:
    """SQLite, full text alone: FTS5 gives its matches in rowid order, so the page is read from the index
    (the page's ids, then their rows) and the total is the index's count, never every matching row."""
    counting, page = _text_statements(described, table_name, tuple(f.column for f in search.fields))
    match = terms.fts5_query(units)
    total = None
    if search.include_total:  # the index's own count: cheap, so always exact
        total = direct.scalar(conn, counting, {"q": match}), False
    if not search.limit:
        return [], total
    rows = direct.rows(conn, page, {"q": match, "limit": search.limit, "offset": search.offset})
    return rows, total


@functools.lru_cache(maxsize=512)
def _text_statements(described: sa.Table, table_name: str, columns: tuple[str, ...]) -> tuple:
    """SQLite: the count of a text search's matches in its FTS5 table, and the page of their rows
    (parameters q, limit, offset)."""
    name = store.fts_name(table_name)
    fts = sa.table(name, sa.column("rowid"))
    match = sa.literal_column(f'"{name}"').op("MATCH")(sa.bindparam("q", type_=sa.String))
    counting = sa.select(sa.func.count()).select_from(fts).where(match)
    ids = sa.select(fts.c.rowid).where(match).order_by(fts.c.rowid).limit(_LIMIT).offset(_OFFSET)
    page = sa.select(*_selected(described, columns)).where(described.c._id.in_(ids)).order_by(described.c._id)
    return counting, page


def _answer(search: Search, rows: list, total: tuple[int, bool] | None) -> dict:
    texts, shown = _layout(tuple(search.fields))
    values = [list(row) for row in rows]
    for row in values:
        for i in texts:  # _plain_text's test, inline: the commonest cell is worth a call less
            value = row[i]
            if value is not None and len(value) >= SHORTEST_MASKED:
                row[i] = masking.mask_text(value)
        for i, show in shown:
            row[i] = show(row[i])
    result = {
        "fields": [{"id": f.id, "type": "text" if f.personal else f.type} for f in search.fields],
        "records": _records(values, search),
    }
    if total is not None:
        result["total"], result["total_was_estimated"] = total
    return result


@functools.lru_cache(maxsize=512)
def _layout(fields: tuple[store.Field, ...]) -> tuple[list[int], list]:
    """An answer's fields, read once per choice of fields: the ordinary text cells (masked where they
    hold a number, see _plain_text) and the others shown by a function (_shown_by)."""
    texts = [i for i, f in enumerate(fields) if not f.personal and f.storage == store.TEXT]
    shown = [(i, show) for i, f in enumerate(fields) if (show := _shown_by(f)) is not None]
    return texts, shown


def _shown_by(column: store.Field) -> Callable[[object], object] | None:
    """How a field's stored values are shown, or None for an ordinary text field (see _answer) or one
    whose values are shown as stored (an ordinary number or boolean): an answer's conversions are most of
    its Python work."""
    if column.personal:
        return functools.partial(_shown, personal=column.personal, storage=column.storage)
    if column.storage == store.JSON:
        return _plain_json
    return None


def _plain_text(value: str | None) -> str | None:
    """An ordinary text cell: masked where it holds a mobile or ID number, which a shorter one cannot."""
    if value is None or len(value) < SHORTEST_MASKED:
        return value
    return masking.mask_text(value)


def _plain_json(value: str | None) -> object:
    value = store.restore(value, store.JSON)
    return _plain_text(value) if isinstance(value, str) else value


def _shown(value: object, personal: str | None, storage: str) -> object:
    value = store.restore(value, storage)
    if isinstance(value, str):
        return masking.mask_cell(value, personal)
    if personal and value is not None:
        return masking.mask_cell(str(value), personal)
    return value


def _records(values: list[list], search: Search) -> object:
    names = [f.id for f in search.fields]
    if search.records_format == "objects":
        return list(map(dict, map(zip, itertools.repeat(names), values)))  # rows have a cell per name
    if search.records_format == "lists":
        return values
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t" if search.records_format == "tsv" else ",", lineterminator="\n")
    for row in values:
        writer.writerow(
            [
                "" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for v in row
            ]
        )
    return out.getvalue()
