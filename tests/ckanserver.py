"""A CKAN 2.12 Action API served over real HTTP on 127.0.0.1, for the sync's tests and benchmarks.

Answers copy the captured ones in ``tests/ckan_samples`` and the code paths of CKAN's
``views/api.py``, ``logic/action/get.py`` and its Solr query: the same envelopes, error types, HTTP
statuses and limits (1,000 rows per search, 25 entries per ``all_fields`` group list). The caller is
always anonymous, so private and deleted datasets behave as they do for an anonymous client.

Packages are kept as encoded JSON plus a few indexed fields, never as live dicts, so a catalogue of
100,000 datasets fits in memory and a page is served by joining pre-encoded bodies.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CKAN_VERSION = "2.12.0"
ROWS_MAX = 1000  # ckan.search.rows_max
GROUP_LIST_MAX = 1000  # ckan.group_and_organization_list_max
GROUP_LIST_ALL_FIELDS_MAX = 25  # ckan.group_and_organization_list_all_fields_max
DEFAULT_SORT = "score desc, metadata_modified desc"
STAMP = "%Y-%m-%dT%H:%M:%S.%f"
JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

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
_PARAMS = {
    "q",
    "fl",
    "fq",
    "fq_list",
    "rows",
    "sort",
    "start",
    "wt",
    "qf",
    "bf",
    "boost",
    "facet",
    "facet.mincount",
    "facet.limit",
    "facet.field",
    "tie",
    "defType",
    "mm",
    "df",
    "q.op",
    "include_private",
    "include_drafts",
    "include_deleted",
    "use_default_schema",
    "callback",
}
_MALFORMATIONS: dict[str, Callable[[dict], Any]] = {
    "resources": lambda p: p.update(resources={str(i): r for i, r in enumerate(p.get("resources", []))}),
    "name": lambda p: p.pop("name", None),
    "extras": lambda p: p.update(extras={e["key"]: e["value"] for e in p.get("extras", [])}),
    "tags": lambda p: p.update(tags=[t["name"] for t in p.get("tags", [])]),
    "organization": lambda p: p.update(organization=(p.get("organization") or {}).get("name")),
    "metadata_modified": lambda p: p.update(metadata_modified="yesterday"),
}
_HTML_ERROR = (
    "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center><hr><center>nginx</center>"
    "</body></html>"
)
_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class ActionError(Exception):
    """An error answer of the Action API: `error` is the envelope's error dict, or a bare JSON string."""

    def __init__(self, status: int, error: dict | str) -> None:
        super().__init__(status, error)
        self.status, self.error = status, error

    @classmethod
    def not_found(cls, detail: str = "") -> ActionError:
        return cls(
            404, {"__type": "Not Found Error", "message": "Not found" + (f": {detail}" if detail else "")}
        )

    @classmethod
    def denied(cls, detail: str) -> ActionError:
        return cls(403, {"__type": "Authorization Error", "message": f"Access denied: {detail}"})

    @classmethod
    def invalid(cls, errors: dict) -> ActionError:
        return cls(409, {**errors, "__type": "Validation Error"})

    @classmethod
    def search_query(cls, detail: str) -> ActionError:
        return cls(400, {"__type": "Search Query Error", "message": f"Search Query is invalid: {detail!r}"})

    @classmethod
    def search(cls, query: dict, reason: str) -> ActionError:
        solr_error = f"Solr responded with an error (HTTP 400): [Reason: {reason}]"
        detail = f"SOLR returned an error running query: {query!r} Error: {solr_error!r}"
        return cls(409, {"__type": "Search Error", "message": f"Search error: {detail!r}"})


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


class FakeCkan:
    """An in-memory CKAN catalogue answering the Action API as a WSGI app; see `serve`.

    Mutate it with the methods below (thread-safe, also while served); inspect `calls`, the
    `(action, params)` of every request received, and `server_errors`, exceptions raised inside the fake.
    """

    def __init__(self, *, site_title: str = "嘉兴市公共数据开放平台") -> None:
        self.site_title = site_title
        self.calls: list[tuple[str, dict | None]] = []
        self.server_errors: list[BaseException] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._entries: dict[str, _Entry] = {}
        self._ids: dict[str, str] = {}  # name -> id
        self._asc: list[tuple[int, int, str]] = []  # visible packages by (ms, index order)
        self._desc: list[tuple[int, int, str]] = []  # the same by (-ms, index order)
        self._orgs: dict[str, dict] = {}
        self._groups: dict[str, dict] = {}
        self._datastore: dict[str, dict] = {}
        self._owners: dict[str, str] = {}  # resource id -> package id
        self._faults: dict[str, list[tuple[str, Any]]] = {}
        self._malformed: dict[str, str | Callable[[dict], Any]] = {}
        self._vanished: set[str] = set()
        self._seq = itertools.count()
        self._last_ms = 0
        self._cache: dict[str, Any] = {}

    # -- catalogue -----------------------------------------------------------------------------

    @classmethod
    def from_dump(cls, path: str | Path, **kwargs: Any) -> FakeCkan:
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

    # -- fault injection -----------------------------------------------------------------------

    def fail_next(self, action: str, status: int = 500, times: int = 1, *, body: str = "html") -> None:
        """Answer the next `times` calls of `action` ("*": any) with `status`: an HTML page as a proxy
        gives (`body="html"`) or CKAN's own Internal Server Error envelope (`body="json"`)."""
        self._add_fault(action, ("fail", (status, body)), times)

    def hang_next(self, action: str, seconds: float, times: int = 1) -> None:
        """Delay the next `times` answers of `action` ("*": any) by `seconds`; stopping cuts it short."""
        self._add_fault(action, ("hang", seconds), times)

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

    def calls_to(self, action: str) -> list[dict | None]:
        """Return the params of each call received for `action`, oldest first."""
        return [params for name, params in list(self.calls) if name == action]

    def _add_fault(self, action: str, fault: tuple[str, Any], times: int) -> None:
        with self._lock:
            self._faults.setdefault(action, []).extend([fault] * times)

    def _take_fault(self, action: str) -> tuple[str, Any] | None:
        with self._lock:
            for key in (action, "*"):
                if self._faults.get(key):
                    return self._faults[key].pop(0)
        return None

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

    # -- HTTP ----------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        match = re.fullmatch(r"/api(?:/3)?/action/([^/]+)", request.path)
        if not match:
            return Response(_HTML_ERROR.format("404 Not Found"), 404, content_type=HTML_TYPE)
        if request.method not in ("GET", "POST"):
            return Response(_HTML_ERROR.format("405 Method Not Allowed"), 405, content_type=HTML_TYPE)
        action = match.group(1)
        try:
            params, problem = _request_data(request), None
        except ValueError as exc:
            params, problem = None, str(exc)
        self.calls.append((action, params))
        fault = self._take_fault(action)
        if fault and fault[0] == "hang":
            self._stopping.wait(fault[1])
        elif fault:
            return _failure(*fault[1], self._help(request, action))
        handler = getattr(self, f"_action_{action}", None)
        if handler is None:
            return _bad_request(f"Action name not known: {action}")
        if problem is not None:
            return _bad_request(f"JSON Error: {problem}")
        envelope = b'{"help": ' + json.dumps(self._help(request, action)).encode()
        try:
            with self._lock:
                result = handler(params, request)
        except ActionError as exc:
            if isinstance(exc.error, str):
                return _bad_request(exc.error)
            body = envelope + b', "error": ' + json.dumps(exc.error).encode() + b', "success": false}'
            return Response(body, exc.status, content_type=JSON_TYPE)
        except Exception as exc:  # CKAN answers any other exception with a 500 envelope
            self.server_errors.append(exc)
            error = {"__type": "Internal Server Error", "message": "Internal Server Error"}
            body = envelope + b', "error": ' + json.dumps(error).encode() + b', "success": false}'
            return Response(body, 500, content_type=JSON_TYPE)
        encoded = result if isinstance(result, bytes) else json.dumps(result).encode()
        return Response(
            envelope + b', "success": true, "result": ' + encoded + b"}", 200, content_type=JSON_TYPE
        )

    @staticmethod
    def _help(request: Request, action: str) -> str:
        return f"{request.host_url.rstrip('/')}/api/3/action/help_show?name={action}"

    # -- actions -------------------------------------------------------------------------------

    def _action_status_show(self, params: dict, request: Request) -> dict:
        return {
            "site_title": self.site_title,
            "site_description": f"{self.site_title}（测试用 CKAN）",
            "site_url": request.host_url.rstrip("/"),
            "error_emails_to": "",
            "locale_default": "en",
            "extensions": ["pgsearch", "activity", "datastore", "datatables_view", "image_view", "text_view"],
            "ckan_version": CKAN_VERSION,
        }

    def _action_package_show(self, params: dict, request: Request) -> bytes:
        ref = params.get("id") or params.get("name_or_id")
        if not ref:
            raise ActionError.invalid({"name_or_id": ["Missing value"]})
        entry = self._find(ref)
        if entry is None or entry.id in self._vanished:
            raise ActionError.not_found()
        if not entry.visible:
            raise ActionError.denied(f"User  not authorized to read package {entry.id}")
        return entry.shown()

    def _action_package_list(self, params: dict, request: Request) -> list[str]:
        limit, offset = _natural(params, "limit"), _natural(params, "offset")
        if "names" not in self._cache:
            self._cache["names"] = sorted(self._entries[key[2]].name for key in self._asc)
        names = self._cache["names"][offset or 0 :]
        return names[:limit] if limit else names

    def _action_package_search(self, params: dict, request: Request) -> bytes:
        rows = min(_natural(params, "rows", default=10), ROWS_MAX)
        start = _natural(params, "start", default=0)
        fields = _json_param(params, "facet.field", [])
        facet_limit, mincount = _int(params, "facet.limit", 50), _natural(params, "facet.mincount", default=1)
        unknown = [key for key in params if key not in _PARAMS and not key.startswith("ext_")]
        if unknown:
            raise ActionError.search_query(f"Invalid search parameters: {unknown}")
        sort = params.get("sort")
        sort = DEFAULT_SORT if sort in (None, "rank") else sort
        solr = {
            "q": params.get("q") or "*:*",
            "fq": params.get("fq") or "",
            "sort": sort,
            "rows": rows,
            "start": start,
        }
        if params.get("fq_list"):
            fq_list = params["fq_list"]
            solr["fq_list"] = fq_list if isinstance(fq_list, list) else [fq_list]
        try:
            page, count, matched = _Search(self, solr).run(start, rows, want_all=bool(fields))
        except _Unsupported as exc:
            raise ActionError.search(solr, str(exc)) from None
        facets = self._facets(matched, fields, facet_limit, mincount) if fields else {}
        return b"".join(
            [
                b'{"count": ',
                str(count).encode(),
                b', "facets": ',
                json.dumps(facets).encode(),
                b', "results": [',
                b", ".join(self._result(entry, params.get("fl")) for entry in page),
                b'], "sort": ',
                json.dumps(sort).encode(),
                b', "search_facets": ',
                json.dumps(self._search_facets(facets)).encode(),
                b"}",
            ]
        )

    def _action_organization_list(self, params: dict, request: Request) -> list:
        return self._group_list(params, self._orgs, "organizations")

    def _action_group_list(self, params: dict, request: Request) -> list:
        return self._group_list(params, self._groups, "groups")

    def _action_organization_show(self, params: dict, request: Request) -> dict:
        return self._group_show(params, self._orgs)

    def _action_group_show(self, params: dict, request: Request) -> dict:
        return self._group_show(params, self._groups)

    def _action_datastore_search(self, params: dict, request: Request) -> dict:
        resource_id = params.get("resource_id") or params.get("id")
        if not resource_id:
            raise ActionError.invalid({"resource_id": ["Missing value"]})
        limit, offset = _natural(params, "limit", default=100), _natural(params, "offset", default=0)
        table = self._datastore.get(resource_id)
        if table is None:
            raise ActionError.not_found(f'Resource "{resource_id}" was not found.')
        owner = self._entries.get(self._owners.get(resource_id, ""))
        if owner is not None and not owner.visible:
            raise ActionError.denied(f"User  not authorized to read resource {resource_id}")
        rows = table["records"] or []
        records = [{"_id": offset + i + 1, **r} for i, r in enumerate(rows[offset : offset + limit])]
        result = {
            "include_next_page": False,
            "include_total": _bool(params.get("include_total", True)),
            "limit": limit,
            "records_format": "objects",
            "resource_id": resource_id,
            "records": records,
            "fields": table["fields"],
        }
        if result["include_total"]:
            result["total"] = table["total"]
        if limit:
            path = f"/api/action/datastore_search?resource_id={resource_id}"
            result["_links"] = {"start": path, "next": f"{path}&offset={offset + limit}"}
        return result

    # -- helpers of the actions ----------------------------------------------------------------

    def _package_counts(self) -> Counter:
        if "counts" not in self._cache:
            counts: Counter = Counter()
            for key in self._asc:
                entry = self._entries[key[2]]
                counts.update([("org", entry.org), *(("group", g) for g in entry.groups)])
            self._cache["counts"] = counts
        return self._cache["counts"]

    def _group_dict(self, group: dict, include_extras: bool) -> dict:
        out = {k: v for k, v in group.items() if k != "extras"}
        out["package_count"] = self._package_counts()[
            ("org" if group["is_organization"] else "group", group["name"])
        ]
        if include_extras:
            out["extras"] = group["extras"]
        return out

    def _group_list(self, params: dict, table: dict[str, dict], names_param: str) -> list:
        limit, offset = _natural(params, "limit"), _natural(params, "offset")
        all_fields = _bool(params.get("all_fields", False))
        cap = GROUP_LIST_ALL_FIELDS_MAX if all_fields else GROUP_LIST_MAX
        limit = cap if limit is None or limit > cap else limit
        sort = (params.get("sort") or "title").strip()
        sort = "package_count desc" if sort in ("packages", "package_count") else sort
        field, _, direction = sort.partition(" ")
        field = "package_count" if field == "packages" else field
        if field not in ("name", "title", "package_count") or direction.strip() not in ("", "asc", "desc"):
            raise ActionError.invalid({"message": f"Cannot sort by field `{field}`"})
        groups = [self._group_dict(g, _bool(params.get("include_extras", False))) for g in table.values()]
        wanted = params.get(names_param)
        if wanted:
            groups = [g for g in groups if g["name"] in (wanted if isinstance(wanted, list) else [wanted])]
        if params.get("q"):
            needle = str(params["q"]).strip().casefold()
            groups = [
                g
                for g in groups
                if any(needle in (g[k] or "").casefold() for k in ("name", "title", "description"))
            ]
        groups.sort(key=lambda g: g[field], reverse=direction.strip() == "desc")
        groups = groups[offset or 0 :][:limit]
        return groups if all_fields else [g["name"] for g in groups]

    def _group_show(self, params: dict, table: dict[str, dict]) -> dict:
        ref = params.get("id")
        if not ref:
            raise ActionError.invalid({"id": ["Missing value"]})
        group = table.get(ref) or next((g for g in table.values() if g["id"] == ref), None)
        if group is None:
            raise ActionError.not_found()
        out = self._group_dict(group, _bool(params.get("include_extras", True)))
        return {**out, "groups": [], "tags": [], "users": []}

    def _result(self, entry: _Entry, fl: Any) -> bytes:
        if not fl:
            return entry.shown()
        names = [f for f in re.split(r"[\s,]+", " ".join(fl) if isinstance(fl, list) else str(fl)) if f]
        pkg = json.loads(entry.body)
        doc = {"organization": entry.org, "capacity": "private" if entry.private else "public"}
        for key in ("metadata_modified", "metadata_created"):
            doc[key] = solr_date(pkg[key])
        return json.dumps({n: doc.get(n, pkg.get(n)) for n in names if n in doc or n in pkg}).encode()

    def _facets(self, entries: Iterable[_Entry], fields: list[str], limit: int, mincount: int) -> dict:
        getters = {
            "organization": lambda e: (e.org,) if e.org else (),
            "groups": lambda e: e.groups,
            "tags": lambda e: e.tags,
            "res_format": lambda e: e.formats,
            "license_id": lambda e: (e.license_id,),
        }
        counters = {f: Counter() for f in fields}
        for entry in entries:
            for field, counter in counters.items():
                counter.update(getters.get(field, lambda e: ())(entry))
        facets = {}
        for field, counter in counters.items():
            items = sorted(
                (item for item in counter.items() if item[1] >= mincount), key=lambda i: (-i[1], i[0])
            )
            facets[field] = dict(items if limit < 0 else items[:limit])
        return facets

    def _search_facets(self, facets: dict) -> dict:
        titles = {
            **{g["name"]: g["title"] for g in self._groups.values()},
            **{o["name"]: o["title"] for o in self._orgs.values()},
        }
        out = {}
        for field, counts in facets.items():
            items = []
            for name, count in counts.items():
                display = name
                if field in ("groups", "organization"):
                    display = (titles.get(name) or "").strip() or name
                elif field == "license_id":
                    display = LICENSES.get(name, (name,))[0]
                items.append({"name": name, "display_name": display, "count": count})
            out[field] = {
                "title": field,
                "items": sorted(items, key=lambda i: i["display_name"], reverse=True),
            }
        return out


class _Unsupported(Exception):
    """A query Solr would reject (the message is Solr's reason), or one this fake cannot answer."""


class _Search:
    """One package_search over the visible packages, following Solr's semantics for what it supports."""

    _TOKEN = re.compile(
        r"\s*(?P<sign>[+-]?)(?:(?P<field>[A-Za-z_][\w.]*):)?"
        r'(?P<value>[\[{][^\]}]*[\]}]|"(?:[^"\\]|\\.)*"|\([^)]*\)|\*:\*|(?:\\.|[^\s()])+)'
    )

    def __init__(self, fake: FakeCkan, solr: dict) -> None:
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


class _SortOrderError(Exception):
    """Solr's "Can't determine a Sort Order" error."""


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


# -- dates: CKAN stores naive UTC; Solr keeps milliseconds and wants a Z ---------------------------

_EPOCH = datetime(1970, 1, 1)
_UNITS = {
    "MILLI": timedelta(milliseconds=1),
    "SECOND": timedelta(seconds=1),
    "MINUTE": timedelta(minutes=1),
    "HOUR": timedelta(hours=1),
    "DAY": timedelta(days=1),
    "DATE": timedelta(days=1),
    "WEEK": timedelta(weeks=1),
}


def _ms_of(value: str | datetime) -> int:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def solr_date(stamp: str) -> str:
    """Return a CKAN stamp as Solr stores and returns it (milliseconds, Z)."""
    moment = _EPOCH + timedelta(milliseconds=_ms_of(stamp))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z".replace(".000Z", "Z")


def _solr_ms(value: str) -> int:
    """Parse a Solr date with optional date math (NOW-1DAY, …/DAY); raise `_Unsupported` like Solr."""
    match = re.fullmatch(
        r"(NOW|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)((?:[+-]\d+[A-Z]+|/[A-Z]+)*)", value
    )
    if not match:
        raise _Unsupported(f"Invalid Date String:'{value}'")
    if match[1] == "NOW":
        moment = datetime.now(UTC).replace(tzinfo=None)
    else:
        moment = datetime.fromisoformat(match[1][:-1][:26])
    for op, amount, unit in re.findall(r"([+-]|/)(\d*)([A-Z]+)", match[2]):
        step = _UNITS.get(unit.removesuffix("S")) if unit != "MILLIS" else _UNITS["MILLI"]
        if step is None:
            raise _Unsupported(f"FakeCkan does not support date math unit {unit}")
        if op == "/":
            moment = _EPOCH + step * ((moment - _EPOCH) // step)
        else:
            moment += step * int(amount) * (1 if op == "+" else -1)
    return _ms_of(moment)


# -- request data and small validators, as CKAN's views/api.py and navl validators do -----------


def _request_data(request: Request) -> dict:
    def mixed(multi: Any) -> dict:
        return {k: v[0] if len(v) == 1 else v for k, v in multi.to_dict(flat=False).items()}

    if request.method == "POST" and request.form:
        values = list(request.form.values())
        if len(values) == 1 and values[0] in ("1", ""):
            data = json.loads(next(iter(request.form.keys())))
        else:
            data = mixed(request.form)
    elif request.args:
        data = mixed(request.args)
    elif request.get_data() and request.mimetype != "multipart/form-data":
        data = json.loads(request.get_data())
    else:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"Request data JSON decoded to {data!r} but it needs to be a dictionary.")
    return data


def _int(params: dict, key: str, default: int) -> int:
    value = params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ActionError.invalid({key: ["Invalid integer"]}) from None


def _natural(params: dict, key: str, default: int | None = None) -> Any:
    value = params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    number = _int(params, key, 0)
    if number < 0:
        raise ActionError.invalid({key: ["Must be a natural number"]})
    return number


def _json_param(params: dict, key: str, default: Any) -> Any:
    value = params.get(key, default)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ActionError.invalid({key: ["Could not parse as valid JSON"]}) from None
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, str):
        return bool(value)
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "on", "y", "t", "1"):
        return True
    if lowered in ("false", "no", "off", "n", "f", "0", ""):
        return False
    raise ValueError(f"String is not true/false: {value!r}")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def _bad_request(message: str) -> Response:
    return Response(json.dumps(f"Bad request - {message}"), 400, content_type=JSON_TYPE)


def _failure(status: int, body: str, help_url: str) -> Response:
    text = f"{status} {_STATUS_TEXT.get(status, 'Error')}"
    if body == "json":
        error = {"__type": "Internal Server Error", "message": "Internal Server Error"}
        payload = json.dumps({"help": help_url, "error": error, "success": False})
        return Response(payload, status, content_type=JSON_TYPE)
    return Response(_HTML_ERROR.format(text), status, content_type=HTML_TYPE)


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


# -- serving -------------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        """Keep request lines out of the test output."""


@contextlib.contextmanager
def serve(fake: Callable) -> Iterator[str]:
    """Serve `fake` (or any WSGI app) on 127.0.0.1, a free port, one thread per request; yield its URL."""
    stopping = getattr(fake, "_stopping", None)  # a FakeCkan's, to wake handlers held by hang_next
    server = make_server("127.0.0.1", 0, fake, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        daemon=True,
        name=f"fake-ckan-{server.server_port}",
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        if stopping is not None:
            stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        if stopping is not None:
            stopping.clear()


MALFORMATIONS = tuple(_MALFORMATIONS)
