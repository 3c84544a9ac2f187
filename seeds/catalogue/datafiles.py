"""Rows of a topic's table, and writing them as CSV, JSON or XLSX files that are byte-identical on rerun."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile
from pathlib import Path

import openpyxl
from fakes import RowContext, cell
from organizations import Department
from places import COUNTIES, County
from topics import Topic

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STRUCTURED = {"CSV": ("csv", "text/csv"), "XLSX": ("xlsx", XLSX_MIME), "JSON": ("json", "application/json")}
PERSONAL_GENERATORS = ("person", "mobile", "idcard")
PERSONAL_EXAMPLE = "（涉及个人信息，不提供示例）"


def _plan(topic: Topic, dept: Department, rng: random.Random, year: int) -> list[tuple[County, int]]:
    """Return the county and generator index of each row."""
    home = dept.county
    areas = len(home.towns) if home else len(COUNTIES)
    if topic.rows == "areas":
        return [(home or COUNTIES[i], i) for i in range(areas)]
    if topic.rows == "quarter-areas":
        count = (3 if year >= 2026 else 4) * areas
        return [(home or COUNTIES[i % areas], i) for i in range(count)]
    if topic.rows == "scenic":
        return [(c, j) for c in ([home] if home else COUNTIES) for j in range(len(c.scenic))]
    if topic.rows == "months":
        count = 10 if year >= 2026 else 12
    elif topic.rows == "quarters":
        count = 3 if year >= 2026 else 4
    else:
        count = rng.randint(*topic.rows)
    return [(home or rng.choice(COUNTIES), i) for i in range(count)]


def table_rows(topic: Topic, dept: Department, rng: random.Random, year: int) -> list[dict]:
    """Return the rows of a topic's table for one department and year."""
    rows = []
    block = (len(dept.county.towns) if dept.county else len(COUNTIES)) if topic.rows == "quarter-areas" else 1
    for county, index in _plan(topic, dept, rng, year):
        ctx = RowContext(rng, year, dept.title, dept.county, index=index, county=county, block=block)
        for column in topic.columns:
            header, _, spec = column.partition("=")
            ctx.row[header] = cell(spec, ctx)
        rows.append(ctx.row)
    return rows


def dictionary_rows(topic: Topic, sample: dict) -> list[dict]:
    """Return a data dictionary of the topic's columns: name, type, meaning and an example value."""
    rows = []
    for column in topic.columns:
        header, _, spec = column.partition("=")
        value = sample[header]
        if isinstance(value, int):
            kind = "整数型"
        elif isinstance(value, float):
            kind = "数值型"
        elif re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", str(value)):
            kind = "日期型"
        else:
            kind = "字符型"
        name, _, unit = header.partition("（")
        meaning = (
            f"{name}，单位：{unit.rstrip('）')}"
            if unit and not unit.startswith(("上年", "市", "区", "县"))
            else header
        )
        personal = spec.partition(":")[0] in PERSONAL_GENERATORS or header == "家庭住址"
        example = PERSONAL_EXAMPLE if personal else str(value)
        rows.append({"字段名称": header, "字段类型": kind, "字段说明": meaning, "示例值": example})
    return rows


def write_table(path: Path, rows: list[dict], fmt: str, stamp: dt.datetime, creator: str) -> int:
    """Write rows as CSV, JSON or XLSX and return the file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "CSV":
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif fmt == "JSON":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        path.write_bytes(_xlsx_bytes(rows, stamp, creator))
    return path.stat().st_size


def _xlsx_bytes(rows: list[dict], stamp: dt.datetime, creator: str) -> bytes:
    """Return an XLSX of one sheet with a header row, with fixed timestamps so reruns give the same bytes."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "数据"
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    workbook.properties.creator = creator
    workbook.properties.created = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl stamps the save time into docProps/core.xml and every zip entry; replace both.
    modified = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + modified.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, data)
    return output.getvalue()
