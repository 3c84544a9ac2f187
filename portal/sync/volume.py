"""Data volume of a structured resource: records and fields, counted from a file.

Volume is records × fields (a count of data items), never bytes. Pure functions over
a readable binary stream; the DataStore figure comes from the source instead.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from typing import BinaryIO

from portal import textfiles

COUNTABLE = {"CSV", "TSV", "XLSX", "JSON"}
MIRRORED = COUNTABLE | {"XLS", "XML", "GEOJSON", "ODS"}  # data files; documents and APIs stay linked
MACHINE_READABLE = COUNTABLE | {"XLS", "XML", "GEOJSON", "API", "RDF", "SHP", "KML", "WMS", "WFS", "ODS"}
MAX_JSON_BYTES = 64 * 1024 * 1024


class Unmeasurable(ValueError):
    """The file cannot be counted; the message says why."""


def measure(stream: BinaryIO, fmt: str) -> tuple[int, int]:
    """Return (records, fields) of a CSV, TSV, XLSX or JSON-array file."""
    fmt = fmt.upper()
    if fmt in ("CSV", "TSV"):
        return _measure_csv(stream, delimiter="\t" if fmt == "TSV" else ",")
    if fmt == "XLSX":
        return _measure_xlsx(stream)
    if fmt == "JSON":
        return _measure_json(stream)
    raise Unmeasurable(f"format {fmt or '?'} is not counted")


def _measure_csv(stream: BinaryIO, *, delimiter: str) -> tuple[int, int]:
    reader = csv.reader(textfiles.decoded(stream), delimiter=delimiter)
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        return 0, 0
    fields = sum(1 for cell in header if cell.strip())
    records = sum(1 for row in reader if any(cell.strip() for cell in row))
    return records, fields


def _measure_xlsx(stream: BinaryIO) -> tuple[int, int]:
    from openpyxl import load_workbook

    with tempfile.TemporaryFile() as spool:  # openpyxl needs a seekable file
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.seek(0)
        try:
            book = load_workbook(spool, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise Unmeasurable(f"not a readable XLSX file ({type(exc).__name__})") from exc
        try:
            rows = (r for r in book.worksheets[0].iter_rows(values_only=True) if _filled(r))
            header = next(rows, None)
            if header is None:
                return 0, 0
            fields = sum(1 for cell in header if cell not in (None, ""))
            return sum(1 for _ in rows), fields
        finally:
            book.close()


def _filled(row: tuple) -> bool:
    return any(cell not in (None, "") for cell in row)


def _measure_json(stream: BinaryIO) -> tuple[int, int]:
    data = stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise Unmeasurable("JSON file too large to count")
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unmeasurable("not valid JSON") from exc
    if isinstance(value, dict):  # a common wrapper: {"data": [...]} or {"records": [...]}
        lists = [v for v in value.values() if isinstance(v, list)]
        value = lists[0] if len(lists) == 1 else value
    if not isinstance(value, list):
        raise Unmeasurable("JSON is not an array of records")
    keys: set[str] = set()
    for item in value:
        if not isinstance(item, dict):
            raise Unmeasurable("JSON array holds something other than objects")
        keys.update(item)
    return len(value), len(keys)
