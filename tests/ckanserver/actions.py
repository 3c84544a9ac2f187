"""The Action API's actions (package_show, package_search, group and organization lists, datastore_search)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request

from .dates import solr_date
from .errors import ActionError, _Unsupported
from .model import (
    CKAN_VERSION,
    DEFAULT_SORT,
    GROUP_LIST_ALL_FIELDS_MAX,
    GROUP_LIST_MAX,
    LICENSES,
    ROWS_MAX,
    _Entry,
)
from .search import _Search

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


class Actions:
    """The Action API's read actions, answered from the catalogue as CKAN 2.12 answers them.

    `_action_<name>(params, request)` answers /api/3/action/<name>; a mixin of `FakeCkan`, which gives it
    the catalogue (`Catalogue`) and `site_title`.
    """

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
