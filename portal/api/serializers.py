"""Plain functions that turn catalogue rows into the dicts the APIs answer with.

`*_json` functions shape /api/v1 answers; `package_dict`, `organization_dict` and `group_dict`
shape CKAN's, as CKAN 2.12's `package_show` and `group_list` give them (see
tests/ckan_samples). Links are absolute, for clients that live elsewhere.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from flask import current_app, g, url_for

from portal import clock, names
from portal.catalogue import quality, ratings
from portal.catalogue.models import CONDITIONAL, Dataset, Department, Resource, Theme
from portal.regions.models import Region

OPEN_CONDITION_LABELS = {CONDITIONAL: "有条件开放", "unconditional": "无条件开放"}
# Keys of CKAN's package schema: an extra with one of these names would clash when a harvester
# feeds our package dicts to its own package_create.
CORE_PACKAGE_KEYS = frozenset(
    {
        "author", "author_email", "creator_user_id", "extras", "groups", "id", "isopen", "license_id",
        "license_title", "license_url", "maintainer", "maintainer_email", "metadata_created",
        "metadata_modified", "name", "notes", "num_resources", "num_tags", "organization", "owner_org",
        "private", "relationships_as_object", "relationships_as_subject", "resources", "state", "tags",
        "title", "type", "url", "version",
    }
)  # fmt: skip
_TAG_NAMESPACE = uuid.UUID("6f1c1d2e-8a4b-5c3d-9e7f-0a1b2c3d4e5f")


def link(endpoint: str, fallback_path: str, **values) -> str:
    """Return the absolute URL of `endpoint`; the literal path while that endpoint is not registered."""
    if endpoint in current_app.view_functions:
        return url_for(endpoint, _external=True, **values)
    return url_for("site.home", _external=True).rstrip("/") + fallback_path


def dataset_page_url(d: Dataset) -> str:
    return link("catalogue.dataset", f"/datasets/{quote(d.name)}", name=d.name)


def download_url(r: Resource) -> str:
    name = r.dataset.name
    return link(
        "catalogue.download",
        f"/datasets/{quote(name)}/resources/{quote(r.ckan_id)}/download",
        name=name,
        resource_id=r.ckan_id,
    )


def iso(moment: datetime | None) -> str | None:
    """Return an aware timestamp as ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def active_resources(d: Dataset) -> list[Resource]:
    return [r for r in d.resources if r.is_active]


# -- /api/v1 ------------------------------------------------------------------------------------


def region_json(r: Region | None) -> dict | None:
    return None if r is None else {"code": r.code, "name": r.name, "level": r.level}


def department_json(d: Department | None, dataset_count: int | None = None) -> dict | None:
    if d is None:
        return None
    out = {"name": d.name, "title": d.title, "description": d.description, "region": region_json(d.region)}
    if dataset_count is not None:
        out["dataset_count"] = dataset_count
    return out


def theme_json(t: Theme, dataset_count: int | None = None) -> dict:
    out = {"name": t.name, "title": t.title}
    if dataset_count is not None:
        out["dataset_count"] = dataset_count
    return out


def county_json(r: Region) -> dict:
    latest = r.populations[-1] if r.populations else None  # ordered by year
    return {
        "code": r.code,
        "name": r.name,
        "name_en": names.english_region_name(r.code, r.name_en),
        "level": r.level,
        "population": latest.population if latest else None,
        "population_year": latest.year if latest else None,
    }


def resource_json(r: Resource) -> dict:
    return {
        "id": r.ckan_id,
        "name": r.name,
        "description": r.description,
        "format": r.format,
        "mimetype": r.mimetype or None,
        "size": r.size,
        "position": r.position,
        "records": r.records,
        "fields": r.fields,
        "volume": r.volume,
        "last_modified": iso(r.ckan_last_modified),
        "download_count": r.download_count,
        "download_url": download_url(r),
    }


def _broken(d: Dataset) -> int:
    """The dataset's broken resources; one query per request answers every dataset it shows."""
    counts = g.get("broken_resource_counts")
    if counts is None:
        counts = g.broken_resource_counts = quality.broken_counts()
    return counts.get(d.id, 0)


def dataset_summary_json(d: Dataset) -> dict:
    """Return what a list shows of a dataset: everything but its resources and extras."""
    resources = active_resources(d)
    return {
        "id": d.ckan_id,
        "name": d.name,
        "title": d.title,
        "notes": d.notes,
        "department": department_json(d.department),
        "region": region_json(d.department.region if d.department else None),
        "themes": [theme_json(t) for t in d.themes],
        "tags": [t.name for t in d.tags],
        "licence": {"id": d.licence.id, "title": d.licence.title, "url": d.licence.url or None}
        if d.licence
        else None,
        "open_condition": d.open_condition,
        "formats": sorted({r.format for r in resources if r.format}),
        "num_resources": len(resources),
        "volume": d.volume,
        "metadata_created": iso(d.metadata_created),
        "metadata_modified": iso(d.metadata_modified),
        "download_count": d.download_count,
        "rating": ratings.rating_json(d),
        "quality": quality.quality_json(d, resources, now=clock.now(), broken=_broken(d)),
        "url": dataset_page_url(d),
        "api_url": url_for("api.catalogue.dataset", name=d.name, _external=True),
    }


def dataset_json(d: Dataset) -> dict:
    """Return the whole dataset, with its extras and its resources' download links."""
    return {
        **dataset_summary_json(d),
        "author": d.author,
        "maintainer": d.maintainer,
        "extras": dict(sorted((d.extras or {}).items())),
        "resources": [resource_json(r) for r in active_resources(d)],
    }


def facet_json(f) -> dict:
    return {"value": f.value, "label": str(f.label), "count": f.count, "selected": f.selected}


# -- CKAN Action API ----------------------------------------------------------------------------


def ckan_time(moment: datetime | None) -> str | None:
    """Return a timestamp as CKAN does: UTC, ISO 8601, no time zone."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() if moment is not None else None


def _embedded_organization(d: Department) -> dict:
    return {
        "id": d.ckan_id,
        "name": d.name,
        "title": d.title,
        "type": "organization",
        "description": d.description,
        "image_url": "",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }


def _embedded_group(t: Theme) -> dict:
    return {
        "description": "",
        "display_name": t.title,
        "id": t.ckan_id,
        "image_display_url": "",
        "name": t.name,
        "title": t.title,
    }


def _tag_dict(name: str) -> dict:
    return {
        "display_name": name,
        "id": str(uuid.uuid5(_TAG_NAMESPACE, name)),  # we keep no tag ids: a stable one per name
        "name": name,
        "state": "active",
        "vocabulary_id": None,
    }


def _resource_dict(r: Resource, d: Dataset) -> dict:
    return {
        "cache_last_updated": None,
        "cache_url": None,
        "created": ckan_time(d.metadata_created or d.metadata_modified),
        "datastore_active": False,  # our copy has no DataStore
        "description": r.description,
        "format": r.format,
        "hash": "",
        "id": r.ckan_id,
        "last_modified": ckan_time(r.ckan_last_modified),
        "metadata_modified": ckan_time(d.metadata_modified),
        "mimetype": r.mimetype or None,
        "mimetype_inner": None,
        "name": r.name,
        "package_id": d.ckan_id,
        "position": r.position,
        "resource_type": None,
        "size": r.size,
        "state": "active",
        "url": download_url(r),  # downloads go through the portal, where they are counted
        "url_type": None,
    }


def package_extras(d: Dataset) -> list[dict]:
    """Return the dataset's extras as CKAN's key/value list, open condition included, core keys left out."""
    extras = {k: v for k, v in (d.extras or {}).items() if k not in CORE_PACKAGE_KEYS}
    extras["open_condition"] = OPEN_CONDITION_LABELS.get(d.open_condition, "无条件开放")
    return [{"key": k, "value": v} for k, v in sorted(extras.items())]


def package_dict(d: Dataset) -> dict:
    """Return a published dataset as CKAN's package_show does."""
    resources = active_resources(d)
    tags = [t.name for t in d.tags]
    licence = d.licence
    out = {
        "author": d.author or None,
        "author_email": None,
        "id": d.ckan_id,
        "isopen": licence is not None and licence.id != "notspecified",
        "license_id": licence.id if licence else None,
        "license_title": licence.title if licence else None,
    }
    if licence is not None and licence.url:
        out["license_url"] = licence.url  # CKAN leaves the key out when the licence has no URL
    out.update(
        {
            "maintainer": d.maintainer or None,
            "maintainer_email": None,
            "metadata_created": ckan_time(d.metadata_created or d.metadata_modified),
            "metadata_modified": ckan_time(d.metadata_modified),
            "name": d.name,
            "notes": d.notes,
            "num_resources": len(resources),
            "num_tags": len(tags),
            "organization": _embedded_organization(d.department) if d.department else None,
            "owner_org": d.department.ckan_id if d.department else None,
            "private": False,
            "state": "active",
            "title": d.title,
            "type": "dataset",
            "url": dataset_page_url(d),
            "version": None,
            "extras": package_extras(d),
            "groups": [_embedded_group(t) for t in d.themes],
            "resources": [_resource_dict(r, d) for r in resources],
            "tags": [_tag_dict(name) for name in tags],
            "relationships_as_subject": [],
            "relationships_as_object": [],
        }
    )
    return out


def _group_fields(ckan_id: str, name: str, title: str, description: str, count: int, is_org: bool) -> dict:
    return {
        "approval_status": "approved",
        "description": description,
        "display_name": title,
        "id": ckan_id,
        "image_display_url": "",
        "image_url": "",
        "is_organization": is_org,
        "name": name,
        "num_followers": 0,
        "package_count": count,
        "state": "active",
        "title": title,
        "type": "organization" if is_org else "group",
    }


def organization_dict(d: Department, package_count: int, *, include_extras: bool = False) -> dict:
    """Return a department as CKAN's organization_list(all_fields=True) does, its region code as an extra."""
    out = _group_fields(d.ckan_id, d.name, d.title, d.description, package_count, True)
    if include_extras:
        out["extras"] = [{"key": "region_code", "value": d.region.code}] if d.region else []
    return out


def group_dict(t: Theme, package_count: int) -> dict:
    return _group_fields(t.ckan_id, t.name, t.title, "", package_count, False)
