"""The first rows of a mirrored CSV, XLSX or JSON file, as strings, with personal data masked.

Files are read from storage as streams: a CSV is decoded line by line (UTF-8, else GB18030) and reading stops
after the rows shown; an XLSX is spooled to a temporary file because openpyxl needs to seek; a JSON array is
decoded one element at a time.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import BinaryIO, cast

from portal.catalogue import masking
from portal.catalogue.models import Resource
from portal.storage import ObjectNotFound, StorageError

PREVIEWABLE = frozenset({"CSV", "XLSX", "JSON"})
MAX_ROWS = 50
MAX_LINE = 1024 * 1024  # characters; a longer CSV line is not a table we can show
MAX_JSON_ITEM = 1024 * 1024
MAX_JSON_WRAPPER = 16 * 1024 * 1024  # bytes of a {"data": [...]} file read whole
CHUNK = 64 * 1024

Opener = Callable[[], BinaryIO]


class PreviewUnavailable(Exception):
    """No preview can be shown; `reason` says why (see REASONS)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NOT_PREVIEWABLE = "format"  # not CSV, XLSX or JSON
NOT_MIRRORED = "not_mirrored"  # no copy in storage
MISSING = "missing"  # the copy has gone from storage
UNREADABLE = "unreadable"  # the copy is not a table we can read
REASONS = (NOT_PREVIEWABLE, NOT_MIRRORED, MISSING, UNREADABLE)


@dataclass
class Table:
    """A preview: header and rows as strings, already masked."""

    header: list[str]
    rows: list[list[str]]
    more: bool = False  # the file has rows beyond these
    masked: dict[str, str] = field(default_factory=dict)  # header → kind of personal data


def is_previewable(resource: Resource) -> bool:
    """Tell whether the resource's format can be previewed at all."""
    return resource.format.upper() in PREVIEWABLE


def preview(resource: Resource, open_stored: Callable[[str], BinaryIO], *, limit: int = MAX_ROWS) -> Table:
    """Read and mask the first `limit` rows of the resource's mirrored copy.

    `open_stored` is the storage's `open`; it raises ObjectNotFound for a missing object.
    Raises PreviewUnavailable.
    """
    if not is_previewable(resource):
        raise PreviewUnavailable(NOT_PREVIEWABLE)
    if not resource.storage_key:
        raise PreviewUnavailable(NOT_MIRRORED)
    try:
        header, rows, more = read_table(
            lambda: open_stored(resource.storage_key), resource.format, limit=limit
        )
    except ObjectNotFound as exc:
        raise PreviewUnavailable(MISSING) from exc
    except StorageError as exc:
        raise PreviewUnavailable(UNREADABLE) from exc
    return mask_table(header, rows, more=more)


def mask_table(header: list[str], rows: list[list[str]], *, more: bool = False) -> Table:
    """Mask personal data in a table of strings."""
    kinds = masking.column_kinds(header)
    masked = {h: kind for h, kind in zip(header, kinds, strict=True) if kind}
    return Table(header, masking.mask_rows(header, rows), more, masked)


def read_table(opener: Opener, fmt: str, *, limit: int = MAX_ROWS) -> tuple[list[str], list[list[str]], bool]:
    """Return (header, first `limit` rows, whether more follow) of a CSV, XLSX or JSON file.

    `opener` returns a fresh binary stream each call: a CSV that is not UTF-8 is read again as GB18030.
    """
    fmt = fmt.upper()
    if fmt == "CSV":
        return _read_csv(opener, limit)
    if fmt == "XLSX":
        with opener() as stream:
            return _read_xlsx(stream, limit)
    if fmt == "JSON":
        with opener() as stream:
            return _read_json(stream, limit)
    raise PreviewUnavailable(NOT_PREVIEWABLE)


def _take(rows: Iterator[list[str]], limit: int) -> tuple[list[str], list[list[str]], bool]:
    """Return the first filled row as header, the next `limit` filled rows, and whether more follow."""
    filled = (row for row in rows if any(cell.strip() for cell in row))
    header = next(filled, None)
    if header is None:
        return [], [], False
    taken = [row for _, row in zip(range(limit), filled, strict=False)]
    more = next(filled, None) is not None
    width = max(len(_trim(row)) for row in [header, *taken])
    return _pad(header, width), [_pad(row, width) for row in taken], more


def _trim(row: list[str]) -> list[str]:
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row[:end]


def _pad(row: list[str], width: int) -> list[str]:
    return (row + [""] * width)[:width]


def _read_csv(opener: Opener, limit: int) -> tuple[list[str], list[list[str]], bool]:
    try:
        try:
            with opener() as stream:
                return _take(csv.reader(_lines(stream, "utf-8-sig", "strict")), limit)
        except UnicodeDecodeError:
            pass  # files from Chinese office software
        with opener() as stream:
            return _take(csv.reader(_lines(stream, "gb18030", "replace")), limit)
    except csv.Error as exc:  # a field beyond csv's size limit, a NUL byte
        raise PreviewUnavailable(UNREADABLE) from exc


def _lines(stream: BinaryIO, encoding: str, errors: str) -> Iterator[str]:
    """Yield the lines of a binary stream, refusing one longer than MAX_LINE (a file with no line ends)."""
    text = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")
    while line := text.readline(MAX_LINE):
        if len(line) == MAX_LINE and not line.endswith(("\n", "\r")):
            raise PreviewUnavailable(UNREADABLE)
        yield line


def _read_xlsx(stream: BinaryIO, limit: int) -> tuple[list[str], list[list[str]], bool]:
    from openpyxl import load_workbook

    with tempfile.TemporaryFile() as spool:  # openpyxl needs a seekable file
        shutil.copyfileobj(stream, spool, CHUNK * 16)
        spool.seek(0)
        try:
            book = load_workbook(spool, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise PreviewUnavailable(UNREADABLE) from exc
        try:
            if not book.worksheets:
                return [], [], False
            rows = ([cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True))
            return _take(rows, limit)
        finally:
            book.close()


def _read_json(stream: BinaryIO, limit: int) -> tuple[list[str], list[list[str]], bool]:
    items = _json_items(stream)
    try:
        taken = [item for _, item in zip(range(limit), items, strict=False)]
        more = next(items, _END) is not _END
    except (UnicodeDecodeError, ValueError) as exc:
        raise PreviewUnavailable(UNREADABLE) from exc
    return _json_table(taken, more)


_END = object()


def _json_table(items: list[object], more: bool) -> tuple[list[str], list[list[str]], bool]:
    """Lay out JSON elements as a table: objects by key, arrays under the first one, else one column."""
    if not items:
        return [], [], more
    if all(isinstance(item, dict) for item in items):
        records = cast(list[dict], items)
        header = list(dict.fromkeys(str(key) for record in records for key in record))
        return header, [[cell_text(record.get(key)) for key in header] for record in records], more
    if all(isinstance(item, list) for item in items):
        header, rows, _ = _take(([cell_text(v) for v in cast(list, item)] for item in items), len(items))
        return header, rows, more
    return ["value"], [[cell_text(item)] for item in items], more


def _json_items(stream: BinaryIO) -> Iterator[object]:
    """Yield the elements of a top-level JSON array one by one, or of the one array in a wrapper object."""
    reader = _JsonReader(io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict"))
    first = reader.peek()
    if first == "{":
        yield from _wrapped_items(reader.rest(MAX_JSON_WRAPPER + 1))
        return
    if first != "[":
        raise ValueError("not a JSON array")
    reader.pos += 1
    while (ahead := reader.peek()) not in ("]", ""):
        if ahead == ",":
            reader.pos += 1
        else:
            yield reader.element()


class _JsonReader:
    """A window over decoded text that grows by CHUNK characters and forgets what was consumed."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.text, self.buffer, self.pos, self.eof = text, "", 0, False
        self.decoder = json.JSONDecoder()

    def fill(self) -> bool:
        chunk = self.text.read(CHUNK)
        self.eof = not chunk
        self.buffer, self.pos = self.buffer[self.pos :] + chunk, 0
        return not self.eof

    def peek(self) -> str:
        """Skip white space and return the next character, or "" at the end."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buffer) or not self.fill():
                return self.buffer[self.pos : self.pos + 1]

    def rest(self, limit: int) -> str:
        return self.buffer[self.pos :] + self.text.read(limit)

    def element(self) -> object:
        """Decode the JSON value at the current position, reading more text until it is whole."""
        while True:
            try:
                item, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                item, end = None, -1
            # A value that touches the end of the buffer may be cut short (a number, a partial object).
            if end != -1 and (end < len(self.buffer) or self.eof):
                self.pos = end
                return item
            if self.eof or len(self.buffer) - self.pos > MAX_JSON_ITEM:
                raise ValueError("broken or oversized JSON element")
            self.fill()


def _wrapped_items(text: str) -> Iterator[object]:
    if len(text) > MAX_JSON_WRAPPER:
        raise ValueError("JSON object too large to preview")
    value = json.loads(text)
    lists = [v for v in value.values() if isinstance(v, list)]
    if len(lists) != 1:
        raise ValueError("JSON object holds no single array of records")
    yield from lists[0]


def cell_text(value: object) -> str:
    """Show one cell as text: numbers without a spurious ".0", dates in ISO form, nested JSON as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
