"""package_search: Solr's query, filter and sort semantics over the visible packages, as far as faked."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from typing import Any

from .dates import _ms_of, _solr_ms
from .errors import ActionError, _SortOrderError, _Unsupported
from .model import Catalogue, _Entry

# Tokenised text fields of CKAN's Solr schema, which Solr cannot sort on; then the sortable ones.
_TEXT_FIELDS = {"title", "notes", "text"}
_SORTABLE = {
    "score",
    "metadata_modified",
    "metadata_created",
    "name",
    "id",
    "title_string",
    "num_resources",
    "num_tags",
    "license_id",
    "organization",
    "owner_org",
    "state",
    "capacity",
}


class _Search:
    """One package_search over the visible packages, following Solr's semantics for what it supports."""

    _TOKEN = re.compile(
        r"\s*(?P<sign>[+-]?)(?:(?P<field>[A-Za-z_][\w.]*):)?"
        r'(?P<value>[\[{][^\]}]*[\]}]|"(?:[^"\\]|\\.)*"|\([^)]*\)|\*:\*|(?:\\.|[^\s()])+)'
    )

    def __init__(self, fake: Catalogue, solr: dict) -> None:
        self.fake, self.solr = fake, solr
        self.low, self.high = None, None  # metadata_modified bounds in ms, inclusive
        self.tests: list[Callable[[_Entry], bool]] = []
        self.terms: list[str] = []
        self._parse(solr["q"], is_q=True)
        for fq in [solr["fq"], *solr.get("fq_list", [])]:
            self._parse(fq, is_q=False)
        try:
            self.sort = _parse_sort(solr["sort"])
        except _SortOrderError:
            raise ActionError.search_query('Invalid "sort" parameter') from None

    def run(self, start: int, rows: int, *, want_all: bool) -> tuple[list[_Entry], int, list[_Entry]]:
        """Return the page, the count and (when facets need them) every match."""
        fake = self.fake
        simple = not self.tests and not self.terms
        if simple and self.sort in (
            [("metadata_modified", "asc")],
            [("metadata_modified", "desc")],
            [("score", "desc"), ("metadata_modified", "desc")],
        ):
            descending = self.sort[-1][1] == "desc"
            low = -(10**18) if self.low is None else self.low
            high = 10**18 if self.high is None else self.high
            if descending:
                keys = fake._desc
                lo, hi = bisect.bisect_left(keys, (-high,)), bisect.bisect_left(keys, (-low + 1,))
            else:
                keys = fake._asc
                lo, hi = bisect.bisect_left(keys, (low,)), bisect.bisect_left(keys, (high + 1,))
            hi = max(lo, hi)  # an empty range such as [2025… TO 2024…]
            page = [fake._entries[k[2]] for k in keys[lo + start : min(hi, lo + start + rows)]]
            matched = [fake._entries[k[2]] for k in keys[lo:hi]] if want_all else []
            return page, hi - lo, matched
        cache_key = f"sorted {self.sort}"
        if simple and self.low is None and self.high is None and cache_key in fake._cache:
            matched = fake._cache[cache_key]  # a harvester paging everything by `id asc`
            return matched[start : start + rows], len(matched), matched
        matched = [e for e in self._candidates() if all(test(e) for test in self.tests)]
        scores = {e.id: self._score(e) for e in matched} if self.terms else {}
        if self.terms:
            matched = [e for e in matched if scores[e.id] > 0]
        matched.sort(key=lambda e: e.seq)  # Lucene breaks ties by document order
        for field, direction in reversed(self.sort):
            matched.sort(key=_sort_key(field, scores), reverse=direction == "desc")
        if simple and self.low is None and self.high is None:
            fake._cache[cache_key] = matched
        return matched[start : start + rows], len(matched), matched

    def _candidates(self) -> list[_Entry]:
        keys = self.fake._asc
        lo = 0 if self.low is None else bisect.bisect_left(keys, (self.low,))
        hi = len(keys) if self.high is None else bisect.bisect_left(keys, (self.high + 1,))
        return [self.fake._entries[k[2]] for k in keys[lo:hi]]

    def _score(self, entry: _Entry) -> float:
        fields = (
            (entry.name, 4),
            (entry.title, 4),
            (" ".join(entry.tags), 2),
            (" ".join(entry.groups), 2),
            (entry.notes, 1),
        )
        score = 0.0
        for term in self.terms:
            hit = sum(weight for text, weight in fields if term in text.casefold())
            if not hit:
                return 0.0
            score += hit
        return score

    def _parse(self, text: str, *, is_q: bool) -> None:
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = self._TOKEN.match(text, position)
            if not match:
                raise _Unsupported(f"org.apache.solr.search.SyntaxError: Cannot parse '{text}'")
            position = match.end()
            sign, field, value = match["sign"], match["field"], match["value"]
            if value == "*:*" or (field is None and value in ("AND", "&&")):
                continue
            if field is None and value in ("OR", "NOT", "||", "!"):
                raise _Unsupported(f"FakeCkan supports only AND-ed clauses, not {value} in {text!r}")
            if field is None:
                term = _unquote(value).casefold()
                if sign == "-":
                    self.tests.append(lambda e, t=term: not self._text_match(e, t))
                elif is_q:
                    self.terms.append(term)
                else:
                    self.tests.append(lambda e, t=term: self._text_match(e, t))
                continue
            test = self._clause(field, value, negated=sign == "-")
            if test is not None:
                self.tests.append((lambda e, t=test: not t(e)) if sign == "-" else test)

    @staticmethod
    def _text_match(entry: _Entry, term: str) -> bool:
        return any(
            term in text.casefold() for text in (entry.name, entry.title, entry.notes, " ".join(entry.tags))
        )

    def _clause(self, field: str, value: str, *, negated: bool) -> Callable[[_Entry], bool] | None:
        if value[0] in "[{":
            return self._range(field, value, negated=negated)
        if value.startswith("("):
            options = [_unquote(v) for v in re.split(r"\s+OR\s+", value[1:-1].strip())]
        else:
            options = [_unquote(value)]
        if field == "metadata_modified":
            stamps = {_solr_ms(v) for v in options}
            return lambda e: e.ms in stamps
        if field == "metadata_created":
            stamps = {_solr_ms(v) for v in options}
            return lambda e: _ms_of(e.created) in stamps
        if field in _TEXT_FIELDS:
            terms = [o.casefold() for o in options]
            attr = {"title": "title", "notes": "notes"}.get(field)
            return lambda e: any(
                t in (getattr(e, attr) if attr else f"{e.title} {e.notes}").casefold() for t in terms
            )
        if field in _FIELD_VALUES:
            wanted = set(options)
            values = _FIELD_VALUES[field]
            return lambda e: any(v in wanted for v in values(e))
        return lambda e: bool(set(options) & set(self._extra_values(e, field)))

    def _range(self, field: str, value: str, *, negated: bool) -> Callable[[_Entry], bool] | None:
        match = re.fullmatch(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])", value)
        if not match:
            raise _Unsupported(f"org.apache.solr.search.SyntaxError: Cannot parse '{field}:{value}'")
        low = None if match[2] == "*" else _solr_ms(match[2]) + (match[1] == "{")
        high = None if match[3] == "*" else _solr_ms(match[3]) - (match[4] == "}")
        if field not in ("metadata_modified", "metadata_created"):
            raise _Unsupported(
                f"FakeCkan supports ranges on metadata_modified and metadata_created, not {field}"
            )
        if field == "metadata_modified" and not negated:
            self.low = low if self.low is None or (low is not None and low > self.low) else self.low
            self.high = high if self.high is None or (high is not None and high < self.high) else self.high
            return None
        attribute = (lambda e: e.ms) if field == "metadata_modified" else (lambda e: _ms_of(e.created))
        return lambda e: (low is None or attribute(e) >= low) and (high is None or attribute(e) <= high)

    def _extra_values(self, entry: _Entry, field: str) -> list[str]:
        """Values of an extra or other top-level field, indexed by CKAN as `key` and `extras_key`."""
        pkg = json.loads(entry.body)
        key = field.removeprefix("extras_")
        values = [e["value"] for e in pkg.get("extras", []) if e.get("key") == key]
        if field in pkg and not isinstance(pkg[field], dict | list):
            values.append(str(pkg[field]).lower() if isinstance(pkg[field], bool) else str(pkg[field]))
        return values


def _parse_sort(sort: str) -> list[tuple[str, str]]:
    """Split a Solr sort spec into (field, direction) pairs, failing where Solr fails."""
    pairs = []
    for part in sort.split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
            raise _SortOrderError(part)
        if bits[0] in _TEXT_FIELDS:
            raise _Unsupported(
                "can not sort on a field w/o docValues unless it is indexed=true uninvertible=true and the"
                f" type supports Uninversion: {bits[0]}"
            )
        if bits[0] not in _SORTABLE:
            raise _Unsupported(f"can not sort on multivalued field: {bits[0]}")
        pairs.append((bits[0], bits[1].lower()))
    return pairs or [("score", "desc")]


def _sort_key(field: str, scores: dict[str, float]) -> Callable[[_Entry], Any]:
    if field == "score":
        return lambda e: scores.get(e.id, 1.0)
    attribute = {
        "metadata_modified": "ms",
        "title_string": "title",
        "organization": "org",
        "owner_org": "org_id",
        "metadata_created": "created",
    }.get(field, field)
    if field == "capacity":
        return lambda e: "private" if e.private else "public"
    return lambda e: getattr(e, attribute) or ""


_FIELD_VALUES: dict[str, Callable[[_Entry], tuple]] = {
    "groups": lambda e: e.groups,
    "tags": lambda e: e.tags,
    "res_format": lambda e: e.formats,
    "id": lambda e: (e.id,),
    "name": lambda e: (e.name,),
    "organization": lambda e: (e.org,),
    "owner_org": lambda e: (e.org_id,),
    "license_id": lambda e: (e.license_id,),
    "state": lambda e: (e.state,),
    "capacity": lambda e: ("private" if e.private else "public",),
    "dataset_type": lambda e: ("dataset",),
    "type": lambda e: ("dataset",),
    "site_id": lambda e: ("default",),
}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)
