"""The OpenAPI 3 document of /api/v1, collected from the routes themselves.

Each area's JSON views declare their operation beside their route with `operation(...)`, and the shapes
they answer with with `schemas({...})`; `document(app)` walks the app's /api/v1 rules, turns each rule
into the document's path (`<int:id>` -> `{id}`, so a path cannot drift from its route), tags it with
the area (the nested blueprint's name) unless it says otherwise, adds what the surface's hooks may
answer on every nested route (`SURFACE_ERRORS`, see `portal/api/v1.py`), and keeps the schemas the
operations refer to. tests/api/test_openapi.py holds routes and document together and fuzzes each area.

This module imports no area: areas import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import TypeVar

from flask import Flask

from portal import inputs

View = TypeVar("View", bound=Callable)

SURFACE = "api"  # the name of the /api/v1 parent blueprint (portal/api/v1.py)
MAX_PER_PAGE = 100  # every /api/v1 list answers at most so many items a page
MAX_PAGE = 100_000  # deeper than any client needs, and keeps OFFSET far from integer overflow


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STRING, INTEGER = {"type": "string"}, {"type": "integer"}
TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # parameters: NUL is refused (no database stores it)
TIME = {"type": "string", "format": "date-time"}
URL = {"type": "string", "format": "uri"}


def obj(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(item: str, extra: dict | None = None) -> dict:
    """A page of `item`s, as every /api/v1 list answers: items, page, per_page, total."""
    properties = {
        "items": {"type": "array", "items": ref(item)},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0},
        **(extra or {}),
    }
    return obj(properties)


ERRORS = {
    "400": "参数错误（如 page=abc、未知的 sort）",
    "401": "API 令牌无效、已撤销或其账号已停用",
    "404": "不存在",
    "410": "数据集已撤下",
    "429": "超过调用频率限制",
}
# What the surface's hooks may answer on any nested route: a NUL in a parameter, a bad token, a spent budget.
SURFACE_ERRORS = ("400", "401", "429")


def error_response(code: str) -> dict:
    return {"description": ERRORS[code], "content": {"application/json": {"schema": ref("Error")}}}


def responses(schema: str, *codes: str) -> dict:
    out = {"200": {"description": "成功", "content": {"application/json": {"schema": ref(schema)}}}}
    for code in codes:
        out[code] = error_response(code)
    return out


def query_parameter(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def path_parameter(name: str, schema: dict, description: str = "") -> dict:
    parameter = {"name": name, "in": "path", "required": True, "schema": schema}
    return {**parameter, "description": description} if description else parameter


ID = {"type": "integer", "minimum": 1}  # a row's id in a path: `<int:…>` takes at most 2**31 - 1
PAGE = query_parameter("page", "页码，从 1 开始", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE})


def per_page_parameter(default: int) -> dict:
    return query_parameter(
        "per_page",
        f"每页条数，默认 {default}；大于 {MAX_PER_PAGE} 时按 {MAX_PER_PAGE} 处理",
        {"type": "integer", "minimum": 1, "maximum": inputs.BIGGEST, "default": default},
    )


def operation(operation_id: str, summary: str, *, responses: dict, **rest) -> Callable[[View], View]:
    """Declare the OpenAPI operation of the view below (parameters, responses, and tags when they are
    not the area's); put it under the route decorator, so the route registers the marked function."""
    spec = {"operationId": operation_id, "summary": summary, **rest, "responses": responses}

    def mark(view: View) -> View:
        view.openapi_operation = spec  # type: ignore[attr-defined]
        return view

    return mark


_SCHEMAS: dict[str, dict] = {
    "Error": obj(
        {"error": obj({"code": {"type": "integer", "description": "HTTP 状态码"}, "message": STRING})}
    ),
}


def schemas(declared: dict[str, dict]) -> None:
    """Declare named response shapes (components) that operations refer to with `ref(name)`."""
    for name, schema in declared.items():
        if _SCHEMAS.setdefault(name, schema) != schema:
            raise ValueError(f"two different OpenAPI schemas are named {name}")


INFO = {
    "title": "嘉兴市公共数据开放平台 API",
    "version": "1.0.0",
    "description": (
        "开放数据目录的只读 JSON 接口。默认限额：匿名调用每个 IP 每分钟 60 次请求、6000 条数据集；"
        "带 API 令牌（`Authorization: Bearer <令牌>` 或 `X-API-Key`）每个用户（其全部令牌合计）"
        "每分钟 20000 次请求、30000 条数据集。数据集条数按请求所要的计（列表按 per_page，"
        "CKAN 兼容接口的 package_search 按 rows），两个接口共用限额；超限返回 429 与 Retry-After。"
        "无效或已撤销的令牌返回 401，不会按匿名处理。错误均为 "
        '`{"error": {"code": …, "message": …}}`（message 为英文）。'
        "另有 CKAN 兼容接口 /api/3/action/ 与 DCAT 目录 /catalog.jsonld、/catalog.ttl。"
    ),
}
SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer", "description": "开发者在账号页创建的 API 令牌"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_RULE_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")
_METHODS = ("get", "post", "put", "patch", "delete")


def document(app: Flask) -> dict:
    """Return (a copy of) the whole OpenAPI document of `app`'s /api/v1 routes, built once per app."""
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = _build(app)
    return deepcopy(app.extensions["openapi"])


def _build(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]
    for rule in sorted(rules, key=lambda rule: rule.endpoint.count(".") < 2):  # the areas' routes first
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "openapi_operation", None)
        if spec is None:  # tests/api/test_openapi.py fails for it; the other routes are still documented
            continue
        blueprints = rule.endpoint.split(".")[:-1]  # "api.contest.round_results" -> api, contest
        nested = len(blueprints) > 1 and blueprints[0] == SURFACE
        spec = deepcopy(spec)
        spec.setdefault("tags", [blueprints[-1]] if nested else [])
        if nested or blueprints == [SURFACE]:
            for code in SURFACE_ERRORS:
                spec["responses"].setdefault(code, error_response(code))
        operations = paths.setdefault(_RULE_ARGUMENT.sub(r"{\1}", rule.rule), {})
        for method in sorted(m.lower() for m in rule.methods if m.lower() in _METHODS):
            operations[method] = spec
    return {
        "openapi": "3.0.3",
        "info": INFO,
        "servers": [{"url": "/"}],
        "components": {"schemas": _referred(paths), "securitySchemes": SECURITY_SCHEMES},
        "security": [{}, {"bearerToken": []}, {"apiKey": []}],
        "paths": paths,
    }


def _referred(paths: dict) -> dict[str, dict]:
    """Return the declared schemas that the operations refer to, directly or through other schemas."""
    found: dict[str, dict] = {}
    waiting = list(_references(paths))
    while waiting:
        name = waiting.pop()
        if name not in found:
            found[name] = _SCHEMAS[name]
            waiting.extend(_references(found[name]))
    return dict(sorted(found.items()))


def _references(value: object) -> Iterable[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"].rsplit("/", 1)[-1]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)
