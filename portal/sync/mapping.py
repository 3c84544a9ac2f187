"""Turn CKAN's package dicts into plain records, and place organizations in the city or a county.

Pure functions: no app, no database. Anything CKAN sends is checked for shape here,
so that a malformed package is refused before it touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL

CONDITIONAL_VALUES = {"有条件开放", "conditional", "有条件"}
UNCONDITIONAL_VALUES = {"无条件开放", "unconditional", "无条件", ""}
CORE_EXTRA_KEYS = {"open_condition", "data_level"}


class MalformedPackage(ValueError):
    """The package lacks a field the portal needs, or has one of the wrong type."""


@dataclass(frozen=True)
class OrganizationRecord:
    ckan_id: str
    name: str
    title: str
    description: str = ""
    region_code: str | None = None  # from the organization's `region_code` extra


@dataclass(frozen=True)
class GroupRecord:
    ckan_id: str
    name: str
    title: str


@dataclass(frozen=True)
class ResourceRecord:
    ckan_id: str
    name: str
    description: str
    format: str
    mimetype: str
    url: str
    size: int | None
    position: int
    last_modified: datetime | None
    datastore_active: bool


@dataclass(frozen=True)
class PackageRecord:
    ckan_id: str
    name: str
    title: str
    notes: str
    metadata_created: datetime | None
    metadata_modified: datetime
    organization: OrganizationRecord | None
    licence_id: str | None
    licence_title: str
    licence_url: str
    open_condition: str
    author: str
    maintainer: str
    source_url: str
    extras: dict[str, str] = field(default_factory=dict)
    data_level: str | None = None  # CKAN's data_level extra as sent; catalogue/rules.py grades it
    groups: tuple[GroupRecord, ...] = ()
    tags: tuple[str, ...] = ()
    resources: tuple[ResourceRecord, ...] = ()


def parse_timestamp(value: object) -> datetime:
    """Read a CKAN timestamp (UTC, usually without a zone) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise MalformedPackage(f"bad timestamp {value!r}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedPackage(f"bad timestamp {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_solr(moment: datetime) -> str:
    """Format an aware datetime as Solr wants it in an fq range."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_package(pkg: object) -> PackageRecord:
    """Check a package dict's shape and return its record; raise MalformedPackage."""
    if not isinstance(pkg, dict):
        raise MalformedPackage("package is not an object")
    ckan_id = _required_str(pkg, "id")
    name = _required_str(pkg, "name")
    extras = _extras(pkg.get("extras"))
    resources = pkg.get("resources") or []
    if not isinstance(resources, list):
        raise MalformedPackage("resources is not a list")
    org = pkg.get("organization")
    return PackageRecord(
        ckan_id=ckan_id,
        name=name,
        title=_str(pkg.get("title")) or name,
        notes=_str(pkg.get("notes")),
        metadata_created=_optional_time(pkg.get("metadata_created")),
        metadata_modified=parse_timestamp(pkg.get("metadata_modified")),
        organization=parse_organization(org) if org else None,
        licence_id=_str(pkg.get("license_id")) or None,
        licence_title=_str(pkg.get("license_title")),
        licence_url=_str(pkg.get("license_url")),
        open_condition=open_condition(extras.get("open_condition")),
        author=_str(pkg.get("author"))[:200],
        maintainer=_str(pkg.get("maintainer"))[:200],
        source_url=_str(pkg.get("url"))[:1000],
        extras={k: v for k, v in extras.items() if k not in CORE_EXTRA_KEYS},
        data_level=extras.get("data_level", "")[:50] or None,
        groups=tuple(_group(g) for g in _list(pkg.get("groups"), "groups")),
        tags=tuple(sorted({_tag(t) for t in _list(pkg.get("tags"), "tags")} - {""})),
        resources=tuple(_resource(r, i) for i, r in enumerate(resources)),
    )


def parse_organization(org: object) -> OrganizationRecord:
    if not isinstance(org, dict):
        raise MalformedPackage("organization is not an object")
    extras = _extras(org.get("extras"))
    return OrganizationRecord(
        ckan_id=_required_str(org, "id"),
        name=_required_str(org, "name"),
        title=_str(org.get("title")) or _str(org.get("display_name")) or org["name"],
        description=_str(org.get("description")),
        region_code=extras.get("region_code") or None,
    )


def open_condition(value: str | None) -> str:
    """Map the `open_condition` extra to ours; absent or unknown means unconditional."""
    text = (value or "").strip()
    return CONDITIONAL if text in CONDITIONAL_VALUES else UNCONDITIONAL


def resolve_region(
    org: OrganizationRecord | None,
    *,
    codes: set[str],
    seed_codes: dict[str, str],
    county_names: dict[str, str],
    city_code: str,
) -> tuple[str, str]:
    """Return (region code, how it was found) for an organization.

    In order: its `region_code` extra when that names a known region, the seed mapping
    of organization names, a county name in its title, else the city.
    """
    if org is None:
        return city_code, "default"
    if org.region_code in codes:
        return org.region_code, "extra"
    if seed_codes.get(org.name) in codes:
        return seed_codes[org.name], "seed"
    for county, code in county_names.items():
        if county in org.title:
            return code, "title"
    return city_code, "default"


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _required_str(d: dict, key: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MalformedPackage(f"missing {key}")
    return value.strip()


def _optional_time(value: object) -> datetime | None:
    return parse_timestamp(value) if value else None


def _list(value: object, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPackage(f"{what} is not a list")
    return value


def _extras(value: object) -> dict[str, str]:
    result = {}
    for item in _list(value, "extras"):
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            result[item["key"]] = "" if item.get("value") is None else str(item["value"])
    return result


def _group(g: object) -> GroupRecord:
    if not isinstance(g, dict):
        raise MalformedPackage("group is not an object")
    name = _required_str(g, "name")
    return GroupRecord(
        ckan_id=_str(g.get("id")) or name,
        name=name,
        title=_str(g.get("title")) or _str(g.get("display_name")) or name,
    )


def _tag(t: object) -> str:
    if isinstance(t, dict):
        return _str(t.get("name"))[:100]
    if isinstance(t, str):
        return t.strip()[:100]
    raise MalformedPackage("tag is neither an object nor a string")


def _resource(r: object, index: int) -> ResourceRecord:
    if not isinstance(r, dict):
        raise MalformedPackage("resource is not an object")
    size = r.get("size")
    position = r.get("position")
    return ResourceRecord(
        ckan_id=_required_str(r, "id"),
        name=_str(r.get("name"))[:500],
        description=_str(r.get("description")),
        format=_str(r.get("format")).upper()[:50],
        mimetype=_str(r.get("mimetype"))[:200],
        url=_str(r.get("url"))[:2000],
        size=size if isinstance(size, int) and size >= 0 else None,
        position=position if isinstance(position, int) else index,
        last_modified=_optional_time(r.get("last_modified")),
        datastore_active=r.get("datastore_active") is True,
    )
