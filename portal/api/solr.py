"""Answer the Solr queries CKAN clients send (`q`, `fq`, `sort`) with SQL over the catalogue.

Covers what harvesters and CKAN tools use: free text, `field:value`, `field:"quoted"`,
`field:(a OR b)`, `field:*`, date ranges such as `metadata_modified:[2025-01-01T00:00:00Z TO *]`
(with `{}` for exclusive bounds and `NOW-1DAY`-style date math), `+`/`-`/`NOT`, `AND`, `OR`
and parentheses, `*:*`. Fields: organization, owner_org, groups, tags, res_format, res_name,
id, name, title, notes, text, license_id, metadata_modified, metadata_created, capacity, state,
dataset_type, type, site_id, and any other name as a dataset extra (`extras_<key>` or `<key>`).
Juxtaposed clauses are AND-ed, as in CKAN's Solr schema. No request here: pure query building.

Free text (and `text:`, `title:`, `notes:`) is looked up in the catalogue's full-text index,
never by LIKE scans over the texts. Every query's cost is bounded before any SQL runs (see
LIMITS): its length, its clauses, its free-text terms and its nesting; a query past one is
refused as Solr refuses too many boolean clauses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from portal import clock
from portal.catalogue import matching, rules, terms
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL, Dataset, Department, Resource

DEFAULT_SORT = "score desc, metadata_modified desc"
OPEN_CONDITIONS = {
    "有条件开放": CONDITIONAL,
    "conditional": CONDITIONAL,
    "无条件开放": UNCONDITIONAL,
    "unconditional": UNCONDITIONAL,
}


MAX_LENGTH = 1000  # characters of a q or fq
MAX_CLAUSES = 30  # clauses (words, field:value pairs, ranges) of a q or fq
MAX_TEXT_TERMS = 10  # free-text terms of a q or fq: each is an index lookup, and three more to score it
MAX_DEPTH = 8  # nesting of parentheses and negations
MAX_SORT_KEYS = 4
MAX_SCANS = 2  # clauses no index answers (res_name, extras): each reads every dataset
MAX_FILTERS = 10  # entries of fq_list
LIMITS = {
    "length": MAX_LENGTH,
    "clauses": MAX_CLAUSES,
    "terms": MAX_TEXT_TERMS,
    "depth": MAX_DEPTH,
    "scans": MAX_SCANS,
}
_CLAUSE_KINDS = ("all", "range", "quoted", "word")  # a field:value pair is one clause


class QueryError(Exception):
    """Solr would refuse the query; the message is Solr's reason."""


class SortError(Exception):
    """The sort is not `field direction[, …]`: CKAN's 'Invalid "sort" parameter'."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<all>\*:\*)
      | (?P<field>[^\W\d][\w.]*):(?=\S)
      | (?P<range>[\[{][^\]}]*[\]}])
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<paren>[()])
      | (?P<op>(?:AND|OR|NOT)(?=[\s()]|$)|&&|\|\|)
      | (?P<sign>[+\-!])(?=\S)
      | (?P<word>(?:\\.|[^\s()"])+)
    )""",
    re.VERBOSE,
)


@dataclass
class Query:
    """A parsed q or fq: its SQL condition, and the free-text terms that score results."""

    where: ColumnElement[bool]
    terms: list[str] = field(default_factory=list)


def parse(text: str, dialect: str = "sqlite") -> Query:
    """Parse a Solr query into a condition on Dataset for the database `dialect`; raise QueryError
    when Solr would, or when the query is past one of LIMITS."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"too long: a query has at most {MAX_LENGTH} characters")
    tokens = _tokens(text)
    if sum(kind in _CLAUSE_KINDS for kind, _ in tokens) > MAX_CLAUSES:
        raise QueryError(f"too many boolean clauses: a query has at most {MAX_CLAUSES}")
    parser = _Parser(tokens, text, dialect)
    if not parser.tokens:
        return Query(true())
    where = parser.expression(None)
    if parser.position != len(parser.tokens):
        raise QueryError(f"org.apache.solr.search.SyntaxError: Cannot parse '{text}'")
    return Query(where, parser.terms)


def scores(terms_: list[str], dialect: str = "sqlite"):
    """Return a subquery of (dataset_id, score) of the datasets holding any free-text term, scored
    by the full-text index (title above tags above the rest, see catalogue/search.py); None when
    no term has a letter or digit to look up."""
    alternatives = [units for units in map(terms.query_units, terms_) if units]
    return matching.text_scores(alternatives, dialect) if alternatives else None


def parse_sort(text: str) -> list[tuple[str, bool]]:
    """Return (field, descending) pairs; raise SortError for a malformed sort, QueryError for a field
    Solr cannot sort on."""
    pairs = []
    if text.count(",") >= MAX_SORT_KEYS:
        raise SortError(text)
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
            raise SortError(part)
        if bits[0] not in SORTABLE:
            raise QueryError(f"can not sort on field: {bits[0]}")
        pairs.append((bits[0], bits[1].lower() == "desc"))
    return pairs or [("score", True), ("metadata_modified", True)]


SORTABLE = ("score", "metadata_modified", "metadata_created", "name", "id", "title_string", "license_id")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"org.apache.solr.search.SyntaxError: Cannot parse '{text}'")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: OR of ANDs of (optionally negated) clauses; a field may wrap a group."""

    def __init__(self, tokens: list[tuple[str, str]], text: str, dialect: str) -> None:
        self.tokens, self.text, self.position, self.dialect = tokens, text, 0, dialect
        self.terms: list[str] = []
        self.depth = self.lookups = self.scans = 0

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"nested too deeply: at most {MAX_DEPTH} levels of parentheses and negations")

    def _clause(self, name: str, kind: str, raw: str) -> ColumnElement[bool]:
        if is_scan(name):
            self.scans += 1
            if self.scans > MAX_SCANS:
                raise QueryError(f"too many clauses on res_name or extras: a query has at most {MAX_SCANS}")
        return clause(name, kind, raw, self._text)

    def _text(self, term: str, within: str = "") -> ColumnElement[bool]:
        """Look `term` up in the index; only terms of the default field score."""
        self.lookups += 1
        if self.lookups > MAX_TEXT_TERMS:
            raise QueryError(f"too many free-text terms: a query has at most {MAX_TEXT_TERMS}")
        if not within:
            self.terms.append(term)
        return _text(term, self.dialect, within)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _fail(self):
        raise QueryError(f"org.apache.solr.search.SyntaxError: Cannot parse '{self.text}'")

    def expression(self, default_field: str | None) -> ColumnElement[bool]:
        parts = [self._conjunction(default_field)]
        while self._peek() in (("op", "OR"), ("op", "||")):
            self.position += 1
            parts.append(self._conjunction(default_field))
        return parts[0] if len(parts) == 1 else or_(*parts)

    def _conjunction(self, default_field: str | None) -> ColumnElement[bool]:
        parts = [self._unary(default_field)]
        while True:
            token = self._peek()
            if token is None or token == ("paren", ")") or token in (("op", "OR"), ("op", "||")):
                break
            if token in (("op", "AND"), ("op", "&&")):
                self.position += 1
            parts.append(self._unary(default_field))
        return parts[0] if len(parts) == 1 else and_(*parts)

    def _unary(self, default_field: str | None) -> ColumnElement[bool]:
        token = self._peek()
        if token in (("op", "NOT"), ("sign", "-"), ("sign", "!")):
            self.position += 1
            self._deeper()
            inner = self._unary(default_field)
            self.depth -= 1
            return not_(inner)
        if token == ("sign", "+"):
            self.position += 1
        return self._primary(default_field)

    def _primary(self, default_field: str | None) -> ColumnElement[bool]:
        token = self._peek()
        if token is None:
            self._fail()
        kind, value = token
        self.position += 1
        if kind == "all":
            return true()
        if kind == "paren" and value == "(":
            self._deeper()
            inner = self.expression(default_field)
            if self._peek() != ("paren", ")"):
                self._fail()
            self.position += 1
            self.depth -= 1
            return inner
        if kind == "field":
            if self._peek() == ("paren", "("):
                return self._primary(value)
            following = self._peek()
            if following is None or following[0] not in ("range", "quoted", "word"):
                self._fail()
            self.position += 1
            return self._clause(value, following[0], following[1])
        if kind in ("quoted", "word"):
            if default_field is not None:
                return self._clause(default_field, kind, value)
            term = _unescape(value[1:-1] if kind == "quoted" else value).strip("*?").casefold()
            return self._text(term) if term else true()
        if kind == "range" and default_field is not None:
            return self._clause(default_field, kind, value)
        self._fail()


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _text(term: str, dialect: str, within: str = "") -> ColumnElement[bool]:
    """Return "the dataset's text holds `term`" through the full-text index (catalogue/matching.py);
    a term without letters or digits matches everything, as Solr's analyser drops it."""
    units = terms.query_units(term)
    return matching.text_condition(units, dialect, within) if units else true()


def _resource(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return Dataset.resources.any(and_(rules.active_resource(), condition))


# field -> (value -> condition); a value of "*" means "has any value".
_FIELDS = {
    # the catalogue's facets, as its rules filter them (values as CKAN names them)
    "organization": lambda v: rules.FACET["department"].condition([v]),
    "owner_org": lambda v: Dataset.department.has(Department.ckan_id == v),
    "groups": lambda v: rules.FACET["theme"].condition([v]),
    "tags": lambda v: rules.FACET["tag"].condition([v]),
    "res_format": lambda v: rules.FACET["format"].condition([v.upper()]),  # the sync stores it upper-case
    "res_name": lambda v: _resource(Resource.name.icontains(v, autoescape=True)),
    "id": lambda v: Dataset.ckan_id == v,
    "name": lambda v: Dataset.name == v,
    "license_id": lambda v: Dataset.licence_id == v,
    "capacity": lambda v: true() if v == "public" else false(),
    "state": lambda v: true() if v == "active" else false(),
    "dataset_type": lambda v: true() if v == "dataset" else false(),
    "type": lambda v: true() if v == "dataset" else false(),
    "site_id": lambda v: true(),
    "open_condition": lambda v: (
        Dataset.open_condition == OPEN_CONDITIONS[v] if v in OPEN_CONDITIONS else false()
    ),
}
# field -> "has any value" condition, built when asked: a relationship's any() at import would configure
# every mapper before the models they name are imported (a module importing this one first then fails)
_EXISTS = {
    "organization": lambda: Dataset.department_id.is_not(None),
    "owner_org": lambda: Dataset.department_id.is_not(None),
    "groups": lambda: Dataset.themes.any(),
    "tags": lambda: Dataset.tags.any(),
    "res_format": lambda: _resource(Resource.format != ""),
    "license_id": lambda: Dataset.licence_id.is_not(None),
}
_DATES = {"metadata_modified": Dataset.metadata_modified, "metadata_created": Dataset.metadata_created}


_TEXT_FIELDS = {"text": "", "title": "title", "notes": "body"}  # field -> column of the full-text index


def is_scan(name: str) -> bool:
    """Tell whether the clause `name:raw` reads every dataset: a resource name, or an extra's value."""
    name = name.removeprefix("extras_")
    if name == "res_name":
        return True
    return name not in _FIELDS and name not in _TEXT_FIELDS and name not in _DATES


def clause(name: str, kind: str, raw: str, text: Callable[..., ColumnElement[bool]]) -> ColumnElement[bool]:
    """Return the condition of one `field:value` clause; `text(term, within)` looks text up."""
    if name.startswith("extras_"):
        name = name.removeprefix("extras_")
    if kind == "range":
        return _range(name, raw)
    value = _unescape(raw[1:-1] if kind == "quoted" else raw)
    if name in _DATES:
        return true() if value == "*" else _DATES[name] == solr_date(value)
    if kind == "word" and value == "*":
        if name in _EXISTS:
            return _EXISTS[name]()
        return true() if name in _FIELDS else _extra(name).is_not(None)
    if name in _TEXT_FIELDS:
        if kind == "word" and value == "*":
            return true()
        return text(value.casefold(), _TEXT_FIELDS[name])
    if name in _FIELDS:
        return _FIELDS[name](value)
    return _extra(name) == value


def _extra(key: str) -> ColumnElement:
    if not re.fullmatch(r"[^\W\d]\w*", key):
        raise QueryError(f"undefined field {key}")
    return Dataset.extras[key].as_string()


def _range(name: str, raw: str) -> ColumnElement[bool]:
    match = re.fullmatch(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])", raw)
    if match is None:
        raise QueryError(f"org.apache.solr.search.SyntaxError: Cannot parse '{name}:{raw}'")
    low, high = match[2], match[3]
    if name not in _DATES:
        column = {"name": Dataset.name, "id": Dataset.ckan_id, "license_id": Dataset.licence_id}.get(name)
        if column is None:
            raise QueryError(f"ranges are supported on dates, name, id and license_id, not {name}")
        bounds = (_unescape(low), _unescape(high))
    else:
        column = _DATES[name]
        bounds = tuple(None if b == "*" else solr_date(b) for b in (low, high))
    parts = []
    if bounds[0] not in (None, "*"):
        parts.append(column >= bounds[0] if match[1] == "[" else column > bounds[0])
    if bounds[1] not in (None, "*"):
        parts.append(column <= bounds[1] if match[4] == "]" else column < bounds[1])
    return and_(column.is_not(None), *parts)


_UNITS = {
    "MILLI": timedelta(milliseconds=1),
    "SECOND": timedelta(seconds=1),
    "MINUTE": timedelta(minutes=1),
    "HOUR": timedelta(hours=1),
    "DAY": timedelta(days=1),
    "DATE": timedelta(days=1),
    "WEEK": timedelta(weeks=1),
}


def solr_date(value: str, now: datetime | None = None) -> datetime:
    """Read a Solr date (`2025-01-01T00:00:00Z`, with optional fraction, `NOW`, date math) as aware UTC."""
    match = re.fullmatch(
        r"(NOW|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)((?:[+-]\d+[A-Z]+|/[A-Z]+)*)", value
    )
    if match is None:
        raise QueryError(f"Invalid Date String:'{value}'")
    if match[1] == "NOW":
        moment = now or clock.now()
    else:
        whole, _, fraction = match[1][:-1].partition(".")
        try:
            moment = datetime.fromisoformat(whole).replace(tzinfo=UTC)
        except ValueError:
            raise QueryError(f"Invalid Date String:'{value}'") from None
        moment += timedelta(microseconds=int((fraction + "000000")[:6]) if fraction else 0)
    for op, amount, unit in re.findall(r"([+-]|/)(\d*)([A-Z]+)", match[2]):
        moment = _date_math(moment, op, int(amount or 0), unit.removesuffix("S"), value)
    return moment


def _date_math(moment: datetime, op: str, amount: int, unit: str, value: str) -> datetime:
    if unit in ("MONTH", "YEAR"):
        if op == "/":
            return moment.replace(month=1 if unit == "YEAR" else moment.month, day=1, hour=0, minute=0,
                                  second=0, microsecond=0)  # fmt: skip
        months = amount * (12 if unit == "YEAR" else 1) * (1 if op == "+" else -1)
        year, month = divmod(moment.month - 1 + months, 12)
        day = min(moment.day, 28)  # keeps the date valid in every month
        return _checked(lambda: moment.replace(year=moment.year + year, month=month + 1, day=day), value)
    step = _UNITS.get(unit)
    if step is None:
        raise QueryError(f"Invalid Date String:'{value}'")
    if op == "/":
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return epoch + step * ((moment - epoch) // step)
    return _checked(lambda: moment + step * amount * (1 if op == "+" else -1), value)


def _checked(compute, value: str) -> datetime:
    try:
        return compute()
    except (OverflowError, ValueError):
        raise QueryError(f"Invalid Date String:'{value}'") from None
