"""A read-only CKAN Action API under /api/3/action (and /api/action, where ckanapi calls).

So that `ckanapi`, ckanext-harvest's CKAN harvester and other CKAN tools can read the portal:
`package_search`, `package_show`, `package_list`, `organization_list`, `group_list` and
`status_show`, by GET or POST (JSON body or form), answered in CKAN 2.12's envelope with its error
types and statuses (see tests/ckan_samples). Only published datasets exist here: a withdrawn
one is "Not found", as a deleted dataset is for an anonymous CKAN caller. Departments are CKAN
organizations and themes CKAN groups; resource URLs are the portal's download links.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, request, url_for
from flask.globals import _cv_request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from portal import dbtimeout, errors, inputs
from portal.accounts import callers
from portal.api import auth, ckan_params, ckan_search, costs, serializers, v1
from portal.catalogue import rules
from portal.catalogue.models import Dataset, Department, Theme
from portal.catalogue.models import dataset_themes as dataset_themes_table
from portal.extensions import csrf, db

bp = Blueprint("ckan", __name__, url_prefix="/api")
csrf.exempt(bp)
bp.after_request(v1.record_call)  # metered as /api/v1 is

CKAN_VERSION = "2.12.0"  # the API whose shapes these answers copy
GROUP_LIST_MAX = 1000  # ckan.group_and_organization_list_max
GROUP_LIST_ALL_FIELDS_MAX = 25  # ckan.group_and_organization_list_all_fields_max
JSON_TYPE = "application/json;charset=utf-8"


def _help(action: str) -> str:
    return f"{_site_url()}/api/3/action/help_show?name={action}"


SITE_URLS = "ckan_site_urls"  # the app's key in app.extensions: the address per URL binding
MAX_SITE_URLS = 1000  # kept at most (Host headers made up by clients fill it)


def _site_url() -> str:
    """Return the portal's address: PUBLIC_BASE_URL's when set, never a Host header then.

    What `url_for` builds for the home page depends only on the request's URL binding (its host, scheme
    and script root; the app sets no URL defaults), so each binding's is kept: every answer names it in
    its `help`, and url_for cost about 20 Python calls a call (issue 16)."""
    found = _cv_request.get(None)
    adapter = found.url_adapter if found is not None else None
    if adapter is None:
        return url_for("site.home", _external=True).rstrip("/")
    known = found.app.extensions.setdefault(SITE_URLS, {})
    key = (adapter.server_name, adapter.subdomain, adapter.url_scheme, adapter.script_name)
    address = known.get(key)
    if address is None:
        address = url_for("site.home", _external=True).rstrip("/")
        if len(known) >= MAX_SITE_URLS:
            known.clear()  # made-up Host headers filled it: start again, so that real ones are kept too
        known[key] = address
    return address


def _json(payload: Any, status: int) -> Response:
    return Response(encode(payload), status, content_type=JSON_TYPE)


def encode(payload: Any) -> bytes | str:
    """The answer as JSON text: UTF-8 characters unescaped (json's ensure_ascii=False), keys in their
    order, floats as Python writes them, without json's blanks after separators. orjson writes a
    100-row datastore_search answer in a tenth of json.dumps's time (which was 0.2-0.25 ms, a tenth of
    the call's CPU); what it refuses (an integer past 64 bits, a key that is no string, a lone
    surrogate) goes through json as before."""
    try:
        return orjson.dumps(payload)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(payload, ensure_ascii=False)


def _bad_request(message: str) -> Response:
    """CKAN's answer to a request it cannot dispatch: a bare JSON string, status 400."""
    return _json(f"Bad request - {message}", 400)


def _failure(action: str, status: int, error: dict) -> Response:
    return _json({"help": _help(action), "error": error, "success": False}, status)


def _rows_asked() -> int:
    """Return the datasets this call asks for, charged to the caller's budget (see `costs`)."""
    try:
        params = _request_data()
    except (ValueError, TypeError, RecursionError):  # the action refuses it; the call costs one row
        return 1

    def published() -> int:
        return db.session.scalar(select(func.count()).where(rules.published())) or 0

    return costs.ckan_action_rows((request.view_args or {}).get("action", ""), params, published)


auth.rate_limit(bp, rows=_rows_asked)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    action = (request.view_args or {}).get("action", "")
    response = _failure(action, exc.code or 500, {"__type": exc.name, "message": exc.description or exc.name})
    response.headers.extend(errors.exception_headers(exc))  # a 405 keeps its Allow
    return response


@bp.errorhandler(Exception)
def unexpected_error(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    db.session.rollback()
    if dbtimeout.is_timeout(exc):
        error = {"__type": "Search Error", "message": "Search error: the query took too long and was stopped"}
        response = _failure((request.view_args or {}).get("action", ""), 503, error)
        response.headers["Retry-After"] = "5"
        return response
    current_app.logger.exception("CKAN-compatible API failed")
    error = {"__type": "Internal Server Error", "message": "Internal Server Error"}
    return _failure((request.view_args or {}).get("action", ""), 500, error)


@bp.route("/3/action/<action>", methods=["GET", "POST"])
@bp.route("/action/<action>", methods=["GET", "POST"])
def action(action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        return _bad_request(f"Action name not known: {action}")
    if callers.has_invalid_token():
        error = {"__type": "Authorization Error", "message": "Access denied: the API token is not valid"}
        return _failure(action, 403, error)
    suspended = callers.suspended_token()
    if suspended is not None:
        error = {"__type": "Authorization Error", "message": callers.suspension_message(suspended)}
        return _failure(action, 403, error)
    try:
        params = _request_data()
    except ValueError as exc:
        return _bad_request(f"JSON Error: {exc}")
    if ckan_params.has_nul(params):  # PostgreSQL refuses them in text
        return _bad_request("Parameters must not contain NUL characters")
    try:
        result = handler(params)
    except ckan_params.ActionError as exc:
        return _failure(action, exc.status, exc.error)
    return _json({"help": _help(action), "success": True, "result": result}, 200)


def _request_data() -> dict:
    """Read the action's parameters as CKAN does: URL parameters, a form, or a JSON body."""

    def flat(multi) -> dict:
        return {k: v[0] if len(v) == 1 else v for k, v in multi.to_dict(flat=False).items()}

    req = _cv_request.get().request  # without the proxy's calls at each use (issue 16)
    data = flat(req.args)
    if req.method == "POST" and req.form:
        values = list(req.form.values())
        if len(req.form) == 1 and values[0] in ("1", ""):  # a JSON body posted as a form key
            data.update(_json_object(next(iter(req.form.keys()))))
        else:
            data.update(flat(req.form))
    elif req.method == "POST" and req.get_data() and req.mimetype != "multipart/form-data":
        data.update(_json_object(req.get_data()))
    return data


def _json_object(text: str | bytes) -> dict:
    """Parse a JSON object through the shared reader (bounded depth, no lone surrogates)."""
    body = inputs.loads(text)
    if not isinstance(body, dict):
        raise ValueError(f"Request data JSON decoded to {body!r:.80} but it needs to be a dictionary.")
    return body


# -- actions ------------------------------------------------------------------------------------


def status_show(params: dict) -> dict:
    title = current_app.config.get("SITE_TITLE", "嘉兴市公共数据开放平台")
    return {
        "site_title": title,
        "site_description": f"{title}（CKAN 兼容只读接口）",
        "site_url": _site_url(),
        "error_emails_to": "",
        "locale_default": "zh_Hans_CN",
        "extensions": [],
        "ckan_version": CKAN_VERSION,
    }


def package_show(params: dict) -> dict:
    ref = ckan_params.string(params, "id") or ckan_params.string(params, "name_or_id")
    if not ref:
        raise ckan_params.invalid({"name_or_id": ["Missing value"]})
    query = ckan_search.with_parts(
        ckan_search.published().where((Dataset.ckan_id == ref) | (Dataset.name == ref))
    )
    dataset = db.session.scalars(query).first()
    if dataset is None:
        raise ckan_params.not_found()
    g.api_dataset_id = dataset.id
    return serializers.package_dict(dataset)


def package_list(params: dict) -> list[str]:
    limit = min(ckan_params.natural(params, "limit", None) or 0, ckan_params.BIGGEST)
    offset = min(ckan_params.natural(params, "offset", 0), ckan_params.BIGGEST)
    query = select(Dataset.name).where(rules.published()).order_by(ckan_search.binary(Dataset.name))
    if limit:  # CKAN treats 0 as no limit
        query = query.limit(limit)
    return list(db.session.scalars(query.offset(offset)))


def _group_list(params: dict, rows: list[tuple[Any, int]], names_param: str, shape) -> list:
    """Filter, sort and page organizations or groups as CKAN's group_list does."""
    limit, offset = ckan_params.natural(params, "limit", None), ckan_params.natural(params, "offset", 0)
    all_fields = ckan_params.boolean(params, "all_fields")
    cap = GROUP_LIST_ALL_FIELDS_MAX if all_fields else GROUP_LIST_MAX
    limit = cap if limit is None or limit > cap else limit
    sort = ckan_params.string(params, "sort", "title").strip() or "title"
    field, _, direction = sort.partition(" ")
    field = "package_count" if field == "packages" else field
    if field not in ("name", "title", "package_count") or direction.strip() not in ("", "asc", "desc"):
        raise ckan_params.invalid({"message": f"Cannot sort by field `{field}`"})
    wanted = params.get(names_param)
    if wanted:
        wanted = set(wanted if isinstance(wanted, list) else [wanted])
        rows = [(o, n) for o, n in rows if o.name in wanted]
    needle = ckan_params.string(params, "q").strip().casefold()
    if needle:
        rows = [(o, n) for o, n in rows if needle in f"{o.name} {o.title}".casefold()]
    descending = direction.strip() == "desc" or (field == "package_count" and not direction.strip())
    rows.sort(
        key=lambda row: row[1] if field == "package_count" else getattr(row[0], field), reverse=descending
    )
    rows = rows[offset:][:limit]
    return [shape(o, n) for o, n in rows] if all_fields else [o.name for o, _ in rows]


def organization_list(params: dict) -> list:
    counts = dict(
        db.session.execute(
            select(Dataset.department_id, func.count())
            .where(rules.published())
            .group_by(Dataset.department_id)
        ).all()
    )
    departments = db.session.scalars(select(Department).options(selectinload(Department.region))).all()
    include_extras = ckan_params.boolean(params, "include_extras")
    return _group_list(
        params,
        [(d, counts.get(d.id, 0)) for d in departments],
        "organizations",
        lambda d, n: serializers.organization_dict(d, n, include_extras=include_extras),
    )


def group_list(params: dict) -> list:
    theme_id = dataset_themes_table.c.theme_id
    counts = dict(
        db.session.execute(
            select(theme_id, func.count())
            .join_from(dataset_themes_table, Dataset)
            .where(rules.published())
            .group_by(theme_id)
        ).all()
    )
    themes = db.session.scalars(select(Theme)).all()
    return _group_list(params, [(t, counts.get(t.id, 0)) for t in themes], "groups", serializers.group_dict)


ACTIONS: dict[str, Callable[[dict], Any]] = {
    "package_search": ckan_search.package_search,
    "package_show": package_show,
    "package_list": package_list,
    "organization_list": organization_list,
    "group_list": group_list,
    "status_show": status_show,
}


def offer(actions: dict[str, Callable[[dict], Any]]) -> Blueprint:
    """Answer these actions too (the row store's `datastore_*`); `create_app` lists them, and the API
    imports no area above it. Return the blueprint to register."""
    ACTIONS.update(actions)
    return bp
