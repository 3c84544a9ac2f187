"""The fake CKAN's data model: packages in package_show shape, organizations, groups, DataStore tables."""

from __future__ import annotations

import bisect
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from .dates import _EPOCH, _ms_of

CKAN_VERSION = "2.12.0"
ROWS_MAX = 1000  # ckan.search.rows_max
GROUP_LIST_MAX = 1000  # ckan.group_and_organization_list_max
GROUP_LIST_ALL_FIELDS_MAX = 25  # ckan.group_and_organization_list_all_fields_max
DEFAULT_SORT = "score desc, metadata_modified desc"
STAMP = "%Y-%m-%dT%H:%M:%S.%f"


LICENSES = {
    "cc-by": ("Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by"),
    "cc-by-sa": (
        "Creative Commons Attribution Share-Alike",
        "http://www.opendefinition.org/licenses/cc-by-sa",
    ),
    "cc-zero": ("Creative Commons CCZero", "http://www.opendefinition.org/licenses/cc-zero"),
    "odc-by": ("Open Data Commons Attribution License", "http://www.opendefinition.org/licenses/odc-by"),
    "odc-odbl": (
        "Open Data Commons Open Database License (ODbL)",
        "http://www.opendefinition.org/licenses/odc-odbl",
    ),
    "other-open": ("Other (Open)", None),
    "notspecified": ("License not specified", None),
}


_MALFORMATIONS: dict[str, Callable[[dict], Any]] = {
    "resources": lambda p: p.update(resources={str(i): r for i, r in enumerate(p.get("resources", []))}),
    "name": lambda p: p.pop("name", None),
    "extras": lambda p: p.update(extras={e["key"]: e["value"] for e in p.get("extras", [])}),
    "tags": lambda p: p.update(tags=[t["name"] for t in p.get("tags", [])]),
    "organization": lambda p: p.update(organization=(p.get("organization") or {}).get("name")),
    "metadata_modified": lambda p: p.update(metadata_modified="yesterday"),
}


class _Entry:
    """A package as the search index and package_show see it."""

    __slots__ = (
        "id",
        "name",
        "state",
        "private",
        "ms",
        "seq",
        "created",
        "title",
        "notes",
        "org",
        "org_id",
        "groups",
        "tags",
        "formats",
        "license_id",
        "num_resources",
        "num_tags",
        "body",
        "broken",
    )

    @property
    def visible(self) -> bool:
        return self.state == "active" and not self.private

    def key(self) -> tuple[int, int, str]:
        return (self.ms, self.seq, self.id)

    def shown(self) -> bytes:
        return self.broken if self.broken is not None else self.body


class Catalogue:
    """The packages, organizations, groups and DataStore tables of a fake CKAN, and their changes.

    Packages are kept as encoded JSON plus the few fields search and lists need (`_Entry`), never as
    live dicts. Every change holds `_lock`: the server reads while tests change the catalogue.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._ids: dict[str, str] = {}  # name -> id
        self._asc: list[tuple[int, int, str]] = []  # visible packages by (ms, index order)
        self._desc: list[tuple[int, int, str]] = []  # the same by (-ms, index order)
        self._orgs: dict[str, dict] = {}
        self._groups: dict[str, dict] = {}
        self._datastore: dict[str, dict] = {}
        self._owners: dict[str, str] = {}  # resource id -> package id
        self._malformed: dict[str, str | Callable[[dict], Any]] = {}
        self._vanished: set[str] = set()
        self._seq = itertools.count()
        self._last_ms = 0
        self._cache: dict[str, Any] = {}

    # -- catalogue -----------------------------------------------------------------------------

    @classmethod
    def from_dump(cls, path: str | Path, **kwargs: Any) -> Self:
        """Load a `ckanapi dump` JSON-lines file; organizations and groups come from the embedded dicts."""
        fake = cls(**kwargs)
        with open(path, encoding="utf-8") as lines:
            fake.add_packages(json.loads(line) for line in lines if line.strip())
        return fake

    def add_organization(self, org: dict) -> dict:
        """Add or replace an organization (`extras` as CKAN's key/value list or a plain dict)."""
        with self._lock:
            return self._put_group(org, is_org=True)

    def add_group(self, group: dict) -> dict:
        """Add or replace a group (a theme)."""
        with self._lock:
            return self._put_group(group, is_org=False)

    def add_package(self, pkg: dict, *, share_name: bool = False) -> dict:
        """Add a dataset in package_show shape; missing fields get CKAN's defaults. Return it as stored.

        `share_name=True` lets it take a name a live package holds, which CKAN's database forbids but
        a source can still show (two live ids claiming one name); package_show by name finds the newer."""
        with self._lock:
            entry = self._index(self._normalise(pkg, share_name=share_name))
            if entry.visible:
                bisect.insort(self._asc, entry.key())
                bisect.insort(self._desc, (-entry.ms, entry.seq, entry.id))
            return self.get_package(entry.id)

    def add_packages(self, pkgs: Iterable[dict]) -> int:
        """Add many datasets at once (sorting the index once); return how many."""
        count = 0
        with self._lock:
            try:
                for pkg in pkgs:
                    entry = self._index(self._normalise(pkg))
                    if entry.visible:
                        self._asc.append(entry.key())
                        self._desc.append((-entry.ms, entry.seq, entry.id))
                    count += 1
            finally:
                self._asc.sort()
                self._desc.sort()
        return count

    def get_package(self, id_or_name: str) -> dict:
        """Return a copy of a dataset as package_show would (before any fault injection)."""
        with self._lock:
            return json.loads(self._entry(id_or_name).body)

    def update_package(self, id_or_name: str, **changes: Any) -> dict:
        """Replace top-level fields and bump metadata_modified (unless given) past every stamp so far."""
        with self._lock:
            entry = self._entry(id_or_name)
            pkg = json.loads(entry.body)
            pkg.update(changes)
            if "owner_org" in changes and "organization" not in changes:
                pkg["organization"] = changes["owner_org"]
            if "metadata_modified" not in changes:
                pkg["metadata_modified"] = self.now()
            self._reindex(entry, pkg)
            return self.get_package(entry.id)

    def delete_package(self, id_or_name: str) -> None:
        """Set state deleted, as package_delete does: gone from search and lists, 403 on package_show."""
        with self._lock:
            entry = self._entry(id_or_name)
            pkg = json.loads(entry.body)
            pkg["state"] = "deleted"
            self._reindex(entry, pkg, keep_order=True)

    def purge_package(self, id_or_name: str) -> None:
        """Remove a dataset for good, as dataset_purge does: 404 on package_show; its name is free."""
        with self._lock:
            entry = self._entry(id_or_name)
            if entry.visible:
                self._asc.remove(entry.key())
                self._desc.remove((-entry.ms, entry.seq, entry.id))
            del self._entries[entry.id]
            if self._ids.get(entry.name) == entry.id:
                del self._ids[entry.name]
                other = next((e for e in self._entries.values() if e.name == entry.name), None)
                if other is not None:  # a package that shared the name keeps it
                    self._ids[entry.name] = other.id
            self._vanished.discard(entry.id)
            self._cache.clear()

    def purge_organization(self, name: str) -> None:
        """Remove an organization for good, as organization_purge does (its datasets stay as they are
        until they are updated): it leaves organization_list and organization_show answers 404."""
        with self._lock:
            del self._orgs[name]
            self._cache.clear()

    def make_private(self, id_or_name: str) -> dict:
        """Make a dataset private (a package_update: metadata_modified moves); anonymous clients lose it."""
        return self.update_package(id_or_name, private=True)

    def make_public(self, id_or_name: str) -> dict:
        """Make a private dataset public again."""
        return self.update_package(id_or_name, private=False)

    def set_datastore(
        self, resource_id: str, fields: list, total: int, records: list[dict] | None = None
    ) -> None:
        """Give a resource a DataStore table: `fields` as names or {"id", "type"} dicts, without `_id`."""
        columns = [{"id": f, "type": "text"} if isinstance(f, str) else dict(f) for f in fields]
        columns = [{"id": "_id", "type": "int"}] + [c for c in columns if c["id"] != "_id"]
        with self._lock:
            self._datastore[resource_id] = {"fields": columns, "total": total, "records": records}
            owner = self._entries.get(self._owners.get(resource_id, ""))
            if owner is None:
                return
            pkg = json.loads(owner.body)
            resources = [r for r in pkg["resources"] if r["id"] == resource_id]
            if resources and not resources[0]["datastore_active"]:
                resources[0]["datastore_active"] = True  # as datastore_create marks the resource
                self._reindex(owner, pkg, keep_order=True)

    def now(self) -> str:
        """Return the next modification stamp: UTC without zone, a millisecond past every stamp seen."""
        with self._lock:
            current = datetime.now(UTC).replace(tzinfo=None)
            ms = max(_ms_of(current), self._last_ms + 1)
            if ms > _ms_of(current):
                current = _EPOCH + timedelta(milliseconds=ms)
            self._last_ms = ms
            return current.strftime(STAMP)

    def malform(self, id_or_name: str, how: str | Callable[[dict], Any] = "resources") -> None:
        """Serve the dataset broken in package_show and package_search: `how` is one of `MALFORMATIONS`
        (default: resources as an object, not a list) or a function that breaks the dict in place."""
        if isinstance(how, str) and how not in _MALFORMATIONS:
            raise ValueError(f"unknown malformation {how!r}; known: {sorted(_MALFORMATIONS)}")
        with self._lock:
            entry = self._entry(id_or_name)
            self._malformed[entry.id] = how
            self._reindex(entry, json.loads(entry.body), keep_order=True)

    def vanish_on_show(self, id_or_name: str) -> None:
        """Keep listing the dataset in package_list and package_search but answer package_show with 404."""
        with self._lock:
            self._vanished.add(self._entry(id_or_name).id)

    # -- storage -------------------------------------------------------------------------------

    def _entry(self, id_or_name: str) -> _Entry:
        entry = self._entries.get(id_or_name) or self._entries.get(self._ids.get(id_or_name, ""))
        if entry is None:
            raise KeyError(f"no package {id_or_name!r}")
        return entry

    def _find(self, id_or_name: Any) -> _Entry | None:
        if not isinstance(id_or_name, str):
            return None
        return self._entries.get(id_or_name) or self._entries.get(self._ids.get(id_or_name, ""))

    def _put_group(self, group: dict, *, is_org: bool) -> dict:
        name = group["name"]
        kind = "organization" if is_org else "group"
        previous = (self._orgs if is_org else self._groups).get(name) or {}
        extras = group.get("extras") or []
        if isinstance(extras, dict):
            extras = [{"key": k, "value": v} for k, v in extras.items()]
        stored = {
            "approval_status": "approved",
            "created": previous.get("created") or datetime.now(UTC).replace(tzinfo=None).strftime(STAMP),
            "description": "",
            "display_name": group.get("title") or name,
            "id": previous.get("id") or str(uuid.uuid4()),
            "image_display_url": group.get("image_url", ""),
            "image_url": "",
            "is_organization": is_org,
            "name": name,
            "num_followers": 0,
            "package_count": 0,
            "state": "active",
            "title": name,
            "type": kind,
        }
        stored.update({k: v for k, v in group.items() if k in stored and v is not None})
        stored["extras"] = [{"key": e["key"], "value": e["value"]} for e in extras]
        (self._orgs if is_org else self._groups)[name] = stored
        self._cache.clear()
        return json.loads(json.dumps(stored))

    def _registered(self, ref: Any, *, is_org: bool) -> dict | None:
        """Return the group a package refers to (dict, name or id), registering embedded ones."""
        table = self._orgs if is_org else self._groups
        if isinstance(ref, dict):
            if ref.get("name") not in table:
                self._put_group(ref, is_org=is_org)
            return table[ref["name"]]
        if ref in table:
            return table[ref]
        return next((g for g in table.values() if g["id"] == ref), None)

    def _normalise(self, pkg: dict, *, share_name: bool = False) -> dict:
        """Return the package in package_show shape; `pkg` is not changed (only its encoding is kept)."""
        if not pkg.get("name"):
            raise ValueError("a package needs a name")
        stamp = pkg.get("metadata_modified") or self.now()
        pkg_id = pkg.get("id") or str(uuid.uuid4())
        if pkg_id in self._entries or (pkg["name"] in self._ids and not share_name):
            raise ValueError(f"package {pkg['name']!r} ({pkg_id}) already exists")
        license_id = pkg.get("license_id") or "notspecified"
        title, url = LICENSES.get(license_id, (license_id, None))
        org = self._registered(pkg.get("organization") or pkg.get("owner_org"), is_org=True)
        out = {
            "author": None,
            "author_email": None,
            "creator_user_id": str(uuid.UUID(int=0)),
            "id": pkg_id,
            "isopen": license_id != "notspecified",
            "license_id": license_id,
            "license_title": title,
        }
        if url:
            out["license_url"] = url
        out.update(
            {
                "maintainer": None,
                "maintainer_email": None,
                "metadata_created": pkg.get("metadata_created") or stamp,
                "metadata_modified": stamp,
                "name": pkg["name"],
                "notes": "",
                "num_resources": 0,
                "num_tags": 0,
                "organization": _embedded_org(org) if org else None,
                "owner_org": org["id"] if org else None,
                "private": False,
                "state": "active",
                "title": pkg["name"],
                "type": "dataset",
                "url": "",
                "version": None,
                "extras": [],
                "groups": [],
                "resources": [],
                "tags": [],
                "relationships_as_subject": [],
                "relationships_as_object": [],
            }
        )
        for key, value in pkg.items():
            if key not in (
                "organization",
                "owner_org",
                "metadata_modified",
                "id",
                "license_title",
                "license_url",
            ):
                out[key] = value
        groups = (self._registered(g, is_org=False) for g in out["groups"])
        out["groups"] = [_embedded_group(g) for g in groups if g]
        out["tags"] = [_tag(t) for t in out["tags"]]
        out["resources"] = [_resource(r, i, pkg_id, stamp) for i, r in enumerate(out["resources"])]
        out["num_resources"], out["num_tags"] = len(out["resources"]), len(out["tags"])
        return out

    def _index(self, pkg: dict, seq: int | None = None) -> _Entry:
        entry = _Entry()
        entry.id, entry.name, entry.state = pkg["id"], pkg["name"], pkg.get("state", "active")
        entry.private = bool(pkg.get("private"))
        entry.ms, entry.seq = _ms_of(pkg["metadata_modified"]), next(self._seq) if seq is None else seq
        entry.created, entry.title, entry.notes = (
            pkg["metadata_created"],
            pkg["title"] or "",
            pkg["notes"] or "",
        )
        org = pkg.get("organization") or {}
        entry.org, entry.org_id = org.get("name"), pkg.get("owner_org")
        entry.groups = tuple(g["name"] for g in pkg["groups"])
        entry.tags = tuple(t["name"] for t in pkg["tags"])
        entry.formats = tuple(dict.fromkeys(r.get("format") or "" for r in pkg["resources"]))
        entry.license_id, entry.num_resources, entry.num_tags = (
            pkg["license_id"],
            pkg["num_resources"],
            pkg["num_tags"],
        )
        entry.body = json.dumps(pkg).encode()
        entry.broken = None
        how = self._malformed.get(entry.id)
        if how is not None:
            broken = json.loads(entry.body)
            (_MALFORMATIONS[how] if isinstance(how, str) else how)(broken)
            entry.broken = json.dumps(broken).encode()
        self._entries[entry.id], self._ids[entry.name] = entry, entry.id
        for resource in pkg["resources"]:
            self._owners[resource["id"]] = entry.id
        self._last_ms = max(self._last_ms, entry.ms)
        self._cache.clear()
        return entry

    def _reindex(self, entry: _Entry, pkg: dict, *, keep_order: bool = False) -> None:
        """Re-add a changed package; like Solr, a re-indexed document goes last among equal sort keys."""
        if entry.visible:
            self._asc.remove(entry.key())
            self._desc.remove((-entry.ms, entry.seq, entry.id))
        del self._entries[entry.id], self._ids[entry.name]
        try:
            new = self._index(self._normalise(pkg), entry.seq if keep_order else None)
        except Exception:
            self._entries[entry.id], self._ids[entry.name] = entry, entry.id
            if entry.visible:
                bisect.insort(self._asc, entry.key())
                bisect.insort(self._desc, (-entry.ms, entry.seq, entry.id))
            raise
        if new.visible:
            bisect.insort(self._asc, new.key())
            bisect.insort(self._desc, (-new.ms, new.seq, new.id))


# -- package parts -------------------------------------------------------------------------------


def _embedded_org(org: dict) -> dict:
    keys = (
        "id",
        "name",
        "title",
        "type",
        "description",
        "image_url",
        "created",
        "is_organization",
        "approval_status",
        "state",
    )
    return {k: org[k] for k in keys}


def _embedded_group(group: dict) -> dict:
    keys = ("description", "display_name", "id", "image_display_url", "name", "title")
    return {k: group[k] for k in keys}


def _tag(tag: Any) -> dict:
    tag = {"name": tag} if isinstance(tag, str) else tag
    return {
        "display_name": tag.get("display_name") or tag["name"],
        "id": tag.get("id") or str(uuid.uuid4()),
        "name": tag["name"],
        "state": "active",
        "vocabulary_id": tag.get("vocabulary_id"),
    }


def _resource(resource: dict, position: int, package_id: str, stamp: str) -> dict:
    out = {
        "cache_last_updated": None,
        "cache_url": None,
        "created": stamp,
        "datastore_active": False,
        "description": "",
        "format": "",
        "hash": "",
        "id": str(uuid.uuid4()),
        "last_modified": None,
        "metadata_modified": stamp,
        "mimetype": None,
        "mimetype_inner": None,
        "name": "",
        "package_id": package_id,
        "position": position,
        "resource_type": None,
        "size": None,
        "state": "active",
        "url": "",
        "url_type": None,
    }
    out.update(resource)
    out["package_id"], out["position"] = package_id, position
    return out


MALFORMATIONS = tuple(_MALFORMATIONS)
