"""Find unmasked personal data in a sample of a table: what holds a dataset back at sync (待脱敏审核).

Pure functions over strings, with the preview's masking rules (catalogue/masking.py), so the sync holds
back exactly what the previews would have to hide:

- a column whose header names a person's name, ID number or phone, with a value that masking would
  change: `张三` and `330402199001011234` are unmasked, `张*` and `330402********1234` are already masked;
  a phone column counts only for a mobile number (a department's 0573 landline or a 12345 hotline is
  not a person's);
- in any column, a resident ID number or a mobile number written out in full (the value patterns).

Addresses are masked in previews but do not hold a dataset: the issue names ID numbers, mobile numbers
and names of persons. A finding carries a masked sample, never the value itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from portal.catalogue import masking

# A finding's rule: which of the masking rules saw the personal data.
HEADER_NAME, HEADER_ID, HEADER_PHONE = "header:name", "header:id_number", "header:phone"
VALUE_ID, VALUE_MOBILE = "value:id_number", "value:mobile"
RULES = (HEADER_NAME, HEADER_ID, HEADER_PHONE, VALUE_ID, VALUE_MOBILE)
_HEADER_RULES = {masking.NAME: HEADER_NAME, masking.ID_NUMBER: HEADER_ID, masking.PHONE: HEADER_PHONE}
# What a cell says when it holds nothing: not a name or a number of anyone.
_PLACEHOLDERS = frozenset({"无", "暂无", "不详", "未知", "空", "-", "--", "/", "n/a", "na", "null", "none"})
MAX_CELL = 1000  # characters of a cell looked at: a sample is bounded, so is each of its cells


@dataclass(frozen=True)
class Finding:
    """One column of one table holding unmasked personal data: the rule that saw it, how many of
    the sampled rows show it, and the first such value masked."""

    column: str
    rule: str
    rows: int
    sample: str

    def as_dict(self) -> dict:
        return asdict(self)


def find_personal_data(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[Finding]:
    """Return the columns of a sampled table that hold unmasked personal data, in header order."""
    kinds = masking.column_kinds([str(h) for h in header])
    seen: dict[int, tuple[str, int, str]] = {}  # column index -> (rule, rows, masked sample)
    for row in rows:
        for index, value in enumerate(row):
            if index >= len(kinds) or value is None:
                continue
            text = str(value)[:MAX_CELL]
            rule = unmasked_rule(text, kinds[index])
            if rule is None:
                continue
            first = seen.get(index)
            if first is None:
                seen[index] = (rule, 1, masking.mask_cell(text, kinds[index]))
            else:
                seen[index] = (first[0], first[1] + 1, first[2])
    return [
        Finding(_kept(str(header[index]))[:200], rule, count, _kept(sample)[:200])
        for index, (rule, count, sample) in sorted(seen.items())
    ]


def _kept(text: str) -> str:
    """Drop NUL characters, which PostgreSQL keeps in neither text nor JSON."""
    return text.replace("\x00", "")


def unmasked_rule(value: str, kind: str | None) -> str | None:
    """Return the rule by which `value` (a cell of a column of `kind`) is unmasked personal data, or None."""
    text = value.strip()
    if not text or text.lower() in _PLACEHOLDERS:
        return None
    if masking.MASK not in text:
        if kind == masking.NAME and len(text) >= 2:
            return HEADER_NAME
        if kind == masking.ID_NUMBER and sum(ch.isalnum() for ch in text) >= 8:
            return HEADER_ID
    if masking.RESIDENT_ID.search(value):
        return HEADER_ID if kind == masking.ID_NUMBER else VALUE_ID
    if masking.MOBILE.search(value):
        return HEADER_PHONE if kind == masking.PHONE else VALUE_MOBILE
    return None


def as_rows(fields: Sequence[str], records: Iterable[dict]) -> Iterable[list[object]]:
    """Turn DataStore records (dicts) into rows in the order of `fields`."""
    for record in records:
        yield [record.get(name) for name in fields]
