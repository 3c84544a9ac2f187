"""Read the rows of a mirrored CSV (UTF-8 or GB18030), XLSX or JSON-array file as a stream, and infer types.

A load reads a file once (`reading`): its first SAMPLE rows decide the fields and their types, then every
row streams through, the sample's first, so no file is ever held whole in memory (an XLSX is spooled to a
temporary file because openpyxl must seek). A later value the guessed type cannot hold (`converter` raises
Mismatch), or a JSON key the sample did not have, means the file must be typed whole: `reading(...,
whole=True)` reads it once for the types (`scan`) and once to load, the price the loader pays only for such
a file. Either way the types are those of the whole file, CKAN's names: `int` when every filled cell is a
whole number that fits 64 bits with no leading zero (a 0571 area code stays text), `numeric` when every
filled cell is a number, else `text`; JSON values that are objects or lists make a `json` field.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import BinaryIO

from portal import textfiles
from portal.catalogue import preview

LOADABLE = frozenset({"CSV", "TSV", "XLSX", "JSON"})
MAX_FIELDS = 1000
MAX_NAME = 200
SAMPLE = 10_000  # rows whose values type the fields before the load starts
FITTED = 4096  # rows given the header's width at a time (_fitted)
_BIGGEST = 2**63 - 1
# Cells that are numbers by the rules of `_kind` whatever else holds, tested in C before the slow path
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")  # at most 18 digits: always within 64 bits
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Numbers PostgreSQL's float8 reads from their text as Python's float() does: finite, and never so
# small that one rounds to zero (which PostgreSQL refuses as out of range)
_EXACT_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,299})(?:\.[0-9]{1,300})?")


def _each_matches(pattern: re.Pattern) -> Callable[[Sequence[str | None]], bool]:
    """Return the test that every filled cell of a column of strings fully matches `pattern`, made as one
    match over the cells joined by commas (one call in C for the column, where a call per cell cost more
    than its matching): none of these patterns holds a comma, so a cell with one fails the count."""
    joined_pattern = re.compile(f"(?:{pattern.pattern},)*{pattern.pattern}")

    def test(column: Sequence[str | None]) -> bool:
        filled = list(filter(None, column))
        if not filled:
            return True
        joined = ",".join(filled)
        return joined.count(",") == len(filled) - 1 and joined_pattern.fullmatch(joined) is not None

    return test


_PLAIN_INTS, _PLAIN_NUMBERS, _EXACT_NUMBERS = map(_each_matches, (_PLAIN_INT, _PLAIN_NUMBER, _EXACT_NUMBER))

Opener = Callable[[], BinaryIO]


class Unreadable(ValueError):
    """The file is not a table the store can load; the message says why."""


class Mismatch(ValueError):
    """A value the type guessed from the sample does not hold, or a JSON key the sample did not have:
    the file must be typed whole (`reading(..., whole=True)`)."""


@dataclass
class Table:
    """An open file: its fields' names and CKAN types, and its data rows as raw values in field order."""

    names: list[str]
    types: list[str]
    rows: Iterator[list]


@contextmanager
def reading(opener: Opener, fmt: str, *, whole: bool = False) -> Iterator[Table]:
    """Open a file for a load: types from its first SAMPLE rows (from every row when `whole`), then its
    rows from the first. Raises Mismatch from `rows` for a JSON key the sample did not have."""
    fmt, sample = fmt.upper(), SAMPLE
    header, types = _survey(opener, fmt) if whole else (None, None)
    if fmt == "JSON":
        with closing(_json_objects(opener)) as items:
            head = [] if whole else list(itertools.islice(items, sample))
            keys = header if header is not None else _keys(head)
            guesses = _Guesses(len(keys))
            for item in head:
                guesses.see([item.get(k) for k in keys])
            yield Table(_field_names(keys), types or guesses.types(), _json_rows(head, items, keys, whole))
        return
    with _table(opener, fmt) as table:
        first = next(table, None)
        if first is None:
            yield Table([], [], iter(()))
            return
        if len(first) > MAX_FIELDS:
            raise Unreadable(f"more than {MAX_FIELDS} fields")
        width = len(first)
        rows = _fitted(table, width)
        head = [] if whole else list(itertools.islice(rows, sample))
        guesses = _Guesses(width)
        for row in head:
            guesses.see(row)
        yield Table(_field_names(first), types or guesses.types(), itertools.chain(head, rows))


def _fitted(rows: Iterator[list], width: int) -> Iterator[list]:
    """Give every row `width` values (a short one is padded with blanks, a long one cut), a batch at a
    time: a batch whose rows all have the width, every batch of a well-formed file, passes whole, so no
    Python code runs per row."""
    batches = iter(lambda: list(itertools.islice(rows, FITTED)), [])
    return itertools.chain.from_iterable(map(functools.partial(_fit, width=width), batches))


def _fit(rows: list[list], width: int) -> list[list]:
    if set(map(len, rows)) == {width}:
        return rows
    return [row if len(row) == width else (row + [None] * width)[:width] for row in rows]


def _keys(items: list[dict]) -> list[str]:
    """Return the keys of JSON objects in order of first appearance, at most MAX_FIELDS."""
    names: dict[str, None] = {}
    for item in items:
        for key in item:
            if key not in names:
                if len(names) >= MAX_FIELDS:
                    raise Unreadable(f"more than {MAX_FIELDS} fields")
                names[key] = None
    return list(names)


def _json_rows(head: list[dict], rest: Iterator[dict], keys: list[str], whole: bool) -> Iterator[list]:
    known = frozenset(keys)
    for item in itertools.chain(head, rest):
        if not whole and not item.keys() <= known:
            raise Mismatch("a JSON object has a key the first objects did not have")
        yield [item.get(k) for k in keys]


def scan(opener: Opener, fmt: str) -> tuple[list[str], list[str]]:
    """Return the field names and CKAN types of a whole file."""
    header, types = _survey(opener, fmt.upper())
    return _field_names(header), types


def _survey(opener: Opener, fmt: str) -> tuple[list, list[str]]:
    """Read a whole file for its header as written (JSON: every key) and its fields' types."""
    if fmt == "JSON":
        names: dict[str, None] = {}
        for item in _json_objects(opener):
            for key in item:
                if key not in names:
                    if len(names) >= MAX_FIELDS:
                        raise Unreadable(f"more than {MAX_FIELDS} fields")
                    names[key] = None
        header = list(names)
        guesses = _Guesses(len(header))
        for item in _json_objects(opener):
            guesses.see([item.get(k) for k in header])
        return header, guesses.types()
    with _table(opener, fmt) as table:
        header = next(table, None)
        if header is None:
            return [], []
        if len(header) > MAX_FIELDS:
            raise Unreadable(f"more than {MAX_FIELDS} fields")
        guesses = _Guesses(len(header))
        for row in table:
            guesses.see(row)
    return header, guesses.types()


def converter(ckan_type: str) -> Callable[[object], object]:
    """Return the function turning a file's raw value into what the store keeps for a field of
    `ckan_type` (as `_Guesses` types it); it raises Mismatch for a value that type does not hold."""
    if ckan_type == "int":
        return _to_int
    if ckan_type == "numeric":
        return _to_number
    if ckan_type == "json":
        return _to_json
    return _to_text


def column_converter(ckan_type: str, *, texts: bool = False) -> Callable[[Sequence], list]:
    """Return the function converting a whole column of raw values as `converter` converts each one.
    A column of strings and blanks (every CSV's) is checked and converted in passes that run in C, a
    load's dearest step value by value; any other column, or one the fast checks refuse, goes value by
    value through `converter`, which raises Mismatch where the column's type fails.

    With `texts`, a column of numbers whose every cell PostgreSQL reads as the very value Python would
    (plain digits, no exponent, no fraction that could round to zero) is kept as its texts, blanks
    None: COPY takes them as they are, sparing a conversion to numbers and back to text."""
    one, fast = converter(ckan_type), (_FAST_TEXTS if texts else _FAST).get(ckan_type)

    def convert(column: Sequence) -> list:
        converted = fast(column) if fast is not None and _strings(column) else None
        return converted if converted is not None else list(map(one, column))

    return convert


def _strings(column: Sequence) -> bool:
    """Whether a column holds only strings and blanks (None). Joining it is one pass in C that refuses
    anything but a string at once, so a column without blanks (a CSV's, but for its short rows) is
    settled without a type asked per value (a third of converting a CSV's columns)."""
    try:
        "".join(column)
    except TypeError:
        return set(map(type, column)) <= _STRINGS
    return True


def _texts(column: Sequence[str | None]) -> list:
    return [value or None for value in column] if "" in column else list(column)


def _ints(column: Sequence[str | None]) -> list | None:
    if not _PLAIN_INTS(column):
        return None
    return [int(value) if value else None for value in column]


def _numbers(column: Sequence[str | None]) -> list | None:
    if not _PLAIN_NUMBERS(column):
        return None
    numbers = [float(value) if value else None for value in column]
    return numbers if all(map(math.isfinite, filter(None, numbers))) else None


def _int_texts(column: Sequence[str | None]) -> list | None:
    if not _PLAIN_INTS(column):
        return None
    return _texts(column)


def _number_texts(column: Sequence[str | None]) -> list | None:
    if not _EXACT_NUMBERS(column):
        return _numbers(column)
    return _texts(column)


_STRINGS = frozenset({str, type(None)})
_FAST = {"text": _texts, "int": _ints, "numeric": _numbers}
_FAST_TEXTS = {"text": _texts, "int": _int_texts, "numeric": _number_texts}


def _to_text(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        raise Mismatch("an object or list in a text field")
    return value if isinstance(value, str) else str(value)


def _to_int(value: object) -> object:
    if value is None or value == "":
        return None
    if type(value) is str and _PLAIN_INT.fullmatch(value):
        return int(value)
    if isinstance(value, dict | list) or not _kind(value)[0]:
        raise Mismatch(f"not a whole number: {str(value)[:40]!r}")
    return int(value.strip()) if isinstance(value, str) else int(value)


def _to_number(value: object) -> object:
    if value is None or value == "":
        return None
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        number = float(value)
        if math.isfinite(number):
            return number
    if isinstance(value, dict | list) or not _kind(value)[1]:
        raise Mismatch(f"not a number: {str(value)[:40]!r}")
    return float(value.strip()) if isinstance(value, str) else float(value)


def _to_json(value: object) -> object:
    return None if value is None or value == "" else json.dumps(value, ensure_ascii=False)


def rows(opener: Opener, fmt: str, width: int) -> Iterator[list]:
    """Yield each data row of a file as `width` raw values (strings, numbers, None)."""
    fmt = fmt.upper()
    if fmt == "JSON":
        header: list[str] | None = None
        for item in _json_objects(opener):
            if header is None:  # the first pass fixed the order: keys in order of first appearance
                header = []
            for key in item:
                if key not in header and len(header) < width:
                    header.append(key)
            yield [item.get(k) for k in header] + [None] * (width - len(header))
        return
    with _table(opener, fmt) as table:
        next(table, None)
        for row in table:
            yield (row + [None] * width)[:width] if len(row) != width else row


def _field_names(header: list) -> list[str]:
    """Name every field: blanks get column_<n>, repeats a suffix, and `_id` is CKAN's own."""
    names: list[str] = []
    for number, cell in enumerate(header, start=1):
        name = str(cell).strip()[:MAX_NAME] if cell is not None else ""
        name = name or f"column_{number}"
        base, suffix = name, 2
        while name in names or name in ("_id", "_full_text"):
            name, suffix = f"{base}_{suffix}", suffix + 1
        names.append(name)
    return names


class _Guesses:
    def __init__(self, width: int) -> None:
        self.integer = [True] * width
        self.number = [True] * width
        self.nested = [False] * width
        self.width = width

    def see(self, row: list) -> None:
        for i, value in enumerate(row[: self.width]):
            if value is None or value == "" or self.nested[i]:
                continue
            if isinstance(value, dict | list):
                self.nested[i] = True
                self.integer[i] = self.number[i] = False
            elif self.number[i]:
                integer, number = _kind(value)
                self.integer[i] = self.integer[i] and integer
                self.number[i] = number

    def types(self) -> list[str]:
        out = []
        for integer, number, nested in zip(self.integer, self.number, self.nested, strict=True):
            out.append("json" if nested else "int" if integer else "numeric" if number else "text")
        return out


def _kind(value: object) -> tuple[bool, bool]:
    """Return (whole number, number) for one filled value."""
    if isinstance(value, bool):
        return False, False
    if isinstance(value, int):
        return abs(value) <= _BIGGEST, True
    if isinstance(value, float):
        return False, value == value and abs(value) != float("inf")
    text = value.strip() if isinstance(value, str) else str(value).strip()
    try:
        number = int(text)
    except ValueError:
        pass
    else:  # a code with a leading zero (0573, 007) or digits that are not ASCII stay text
        head = text[1:] if text[:1] in "+-" else text
        whole = head.isascii() and (head == "0" or head[:1] != "0")
        return whole and abs(number) <= _BIGGEST, whole
    try:
        number = float(text)
    except ValueError:
        return False, False
    if text[:1] == "0" and text[1:2].isdigit():
        return False, False
    return False, number == number and abs(number) != float("inf") and not text.lower().endswith(
        ("inf", "nan")
    )


@contextmanager
def _table(opener: Opener, fmt: str) -> Iterator[Iterator[list]]:
    """Open a CSV, TSV or XLSX file as an iterator of filled rows, the header first."""
    if fmt in ("CSV", "TSV"):
        with opener() as stream:
            reader = csv.reader(textfiles.decoded(stream), delimiter="\t" if fmt == "TSV" else ",")
            rows, probe = itertools.tee(reader)  # a row is kept when its joined cells are not blank:
            yield itertools.compress(rows, map(str.strip, map("".join, probe)))  # tested in C, row by row
        return
    if fmt != "XLSX":
        raise Unreadable(f"format {fmt or '?'} is not loaded")
    from openpyxl import load_workbook

    with opener() as stream, tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.seek(0)
        try:
            book = load_workbook(spool, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise Unreadable(f"not a readable XLSX file ({type(exc).__name__})") from exc
        try:
            cells = book.worksheets[0].iter_rows(values_only=True)
            yield ([_cell(c) for c in row] for row in cells if any(c not in (None, "") for c in row))
        finally:
            book.close()


def _cell(value: object) -> object:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _json_objects(opener: Opener) -> Iterator[dict]:
    with opener() as stream:
        try:
            for item in preview._json_items(stream):  # the preview's streaming decoder of one array
                if not isinstance(item, dict):
                    raise Unreadable("the JSON array holds something other than objects")
                yield item
        except (ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, Unreadable):
                raise
            raise Unreadable(f"not a JSON array of objects ({str(exc)[:100]})") from exc
