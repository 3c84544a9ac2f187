"""Checks of the generated demo catalogue, run by `generate.py --check`."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import uuid
from collections import Counter
from pathlib import Path

import openpyxl
from fakes import id_check_digit
from places import COUNTIES

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
PACKAGE_KEYS = {
    "author",
    "author_email",
    "creator_user_id",
    "extras",
    "groups",
    "id",
    "isopen",
    "license_id",
    "license_title",
    "maintainer",
    "maintainer_email",
    "metadata_created",
    "metadata_modified",
    "name",
    "notes",
    "num_resources",
    "num_tags",
    "organization",
    "owner_org",
    "private",
    "resources",
    "state",
    "tags",
    "title",
    "type",
    "url",
    "version",
    "relationships_as_subject",
    "relationships_as_object",
}
RESOURCE_KEYS = {
    "id",
    "package_id",
    "name",
    "description",
    "format",
    "mimetype",
    "size",
    "created",
    "last_modified",
    "url",
    "url_type",
    "datastore_active",
    "position",
    "state",
    "hash",
}
TAG_KEYS = {"name", "display_name", "id", "state", "vocabulary_id"}
CONDITIONS = {"无条件开放", "有条件开放"}
FREQUENCIES = {"每日", "每月", "每季度", "每年"}
MAX_TOTAL_BYTES = 6 * 1024 * 1024


def _is_uuid(value: object) -> bool:
    try:
        return str(uuid.UUID(str(value))) == value
    except ValueError:
        return False


def _naive(value: object) -> bool:
    try:
        return dt.datetime.fromisoformat(str(value)).tzinfo is None
    except ValueError:
        return False


def read_table(path: Path) -> list[dict]:
    """Return the rows of a CSV, JSON or XLSX data file as dicts."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    if path.suffix == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError("not an array of objects")
        return rows
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def _check_table(path: Path, problems: list[str]) -> None:
    rows = read_table(path)
    if not 5 <= len(rows) <= 200 and path.stem != "data-dictionary":
        problems.append(f"{path}: {len(rows)} rows")
    if not rows or not 3 <= len(rows[0]) <= 12:
        problems.append(f"{path}: {len(rows[0]) if rows else 0} columns")
    for row in rows:
        for column, value in row.items():
            if column == "身份证号" and (len(value) != 18 or id_check_digit(value[:17]) != value[17]):
                problems.append(f"{path}: bad ID number {value}")
            if column == "联系电话" and str(value).startswith("1") and not MOBILE.match(str(value)):
                problems.append(f"{path}: bad mobile number {value}")


def _check_resource(res: dict, package: dict, base: Path, problems: list[str]) -> int:
    where = f"{package['name']} resource {res.get('position')}"
    if missing := RESOURCE_KEYS - res.keys():
        problems.append(f"{where}: missing {sorted(missing)}")
        return 0
    if res["package_id"] != package["id"] or not _is_uuid(res["id"]):
        problems.append(f"{where}: bad id or package_id")
    if not (_naive(res["created"]) and _naive(res["last_modified"])):
        problems.append(f"{where}: timestamps")
    url = res["url"]
    if "://" in url or ":" in url.split("/")[0]:
        return 0
    path = base / url
    if not path.is_file():
        problems.append(f"{where}: {url} does not exist")
        return 0
    if path.stat().st_size != res["size"]:
        problems.append(f"{where}: size {res['size']} but file has {path.stat().st_size}")
    _check_table(path, problems)
    return path.stat().st_size


def _check_package(package: dict, base: Path, problems: list[str]) -> int:
    name = package.get("name", "?")
    if missing := PACKAGE_KEYS - package.keys():
        problems.append(f"{name}: missing {sorted(missing)}")
        return 0
    if not NAME.match(name) or not _is_uuid(package["id"]):
        problems.append(f"{name}: name must be an ASCII slug and id a UUID")
    if (package["state"], package["private"], package["type"]) != ("active", False, "dataset"):
        problems.append(f"{name}: state, private or type")
    if not (_naive(package["metadata_created"]) and _naive(package["metadata_modified"])):
        problems.append(f"{name}: timestamps must be ISO 8601 without time zone")
    if package["num_resources"] != len(package["resources"]) or not 1 <= len(package["resources"]) <= 5:
        problems.append(f"{name}: num_resources")
    if package["num_tags"] != len(package["tags"]) or not 2 <= len(package["tags"]) <= 7:
        problems.append(f"{name}: num_tags")
    if any(set(t) != TAG_KEYS for t in package["tags"]) or not 1 <= len(package["groups"]) <= 2:
        problems.append(f"{name}: tags or groups")
    extras = {e["key"]: e["value"] for e in package["extras"]}
    if extras.get("open_condition", "无条件开放") not in CONDITIONS:
        problems.append(f"{name}: open_condition {extras['open_condition']}")
    if extras.get("update_frequency") not in FREQUENCIES:
        problems.append(f"{name}: update_frequency")
    if package["owner_org"] != package["organization"]["id"]:
        problems.append(f"{name}: owner_org")
    return sum(_check_resource(r, package, base, problems) for r in package["resources"])


def county_of(org: dict, mapping: dict[str, str | None]) -> str:
    """Return the county name of an organization as the sync should find it: seed mapping, then title."""
    code = mapping.get(org["name"])
    for county in COUNTIES:
        if code == county.code or (code is None and county.name in org["title"]):
            return county.name
    return "嘉兴市"


def check(dump: Path, departments_json: Path, themes_json: Path) -> tuple[list[str], str]:
    """Validate the dump, its files and the seeds; return the problems and a summary of the counts."""
    problems: list[str] = []
    packages = []
    for number, line in enumerate(dump.read_text(encoding="utf-8").splitlines(), 1):
        try:
            packages.append(json.loads(line))
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: {error}")
    total = sum(_check_package(p, dump.parent, problems) for p in packages)
    for key in ("name", "id"):
        if dupes := [k for k, n in Counter(p[key] for p in packages).items() if n > 1]:
            problems.append(f"duplicate {key}s: {dupes}")
    resource_ids = [r["id"] for p in packages for r in p["resources"]]
    if len(resource_ids) != len(set(resource_ids)):
        problems.append("duplicate resource ids")
    mapping = {d["name"]: d["region_code"] for d in json.loads(departments_json.read_text(encoding="utf-8"))}
    themes = {t["name"]: t["title"] for t in json.loads(themes_json.read_text(encoding="utf-8"))}
    orgs = {p["organization"]["name"]: p["organization"] for p in packages}
    per_theme = Counter(g["name"] for p in packages for g in p["groups"])
    per_county = Counter(county_of(o, mapping) for o in orgs.values())
    conditions = Counter(
        next((e["value"] for e in p["extras"] if e["key"] == "open_condition"), "（无）") for p in packages
    )
    hostile = [p["name"] for p in packages if any(t["name"] == "安全测试" for t in p["tags"])]
    if set(per_theme) != set(themes) or min(per_theme.values()) < 15:
        problems.append(f"themes: {dict(per_theme)}")
    if len(orgs) < 28 or any(per_county[c.name] < 2 for c in COUNTIES):
        problems.append(f"organizations: {len(orgs)}, per county {dict(per_county)}")
    if unknown := set(mapping) - set(orgs):
        problems.append(f"departments.json names no organization in the dump: {sorted(unknown)}")
    if len(packages) < 320 or len(hostile) != 3 or total > MAX_TOTAL_BYTES:
        problems.append(f"{len(packages)} datasets, {len(hostile)} hostile, {total} bytes of files")
    formats = Counter(r["format"] for p in packages for r in p["resources"])
    summary = "\n".join(
        [
            f"datasets: {len(packages)}; resources: {len(resource_ids)}; organizations: {len(orgs)} "
            f"({len(orgs) - len(set(orgs) & set(mapping))} not in departments.json)",
            "per theme: " + ", ".join(f"{themes.get(k, k)} {per_theme[k]}" for k in themes),
            "organizations per county: " + ", ".join(f"{k} {v}" for k, v in sorted(per_county.items())),
            "open condition: "
            + ", ".join(f"{k} {v} ({v / len(packages):.0%})" for k, v in conditions.most_common()),
            "formats: " + ", ".join(f"{k} {v}" for k, v in formats.most_common()),
            f"hostile (安全测试): {', '.join(hostile)}",
            f"local files: {total} bytes ({total / 1024 / 1024:.2f} MiB)",
        ]
    )
    return problems, summary
