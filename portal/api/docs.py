"""The readable API documentation: the OpenAPI document turned into sections of operations with curl
examples. Pure: it takes the document and the base URL, so every route in the document is shown and
nothing is written twice."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

METHODS = ("get", "post", "put", "patch", "delete")
TOKEN_HEADER = "Authorization: Bearer <token>"
# Example values for query parameters, so the examples show how Chinese is URL-encoded (-G --data-urlencode).
EXAMPLES = {"q": "交通", "per_page": "10"}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # query or path
    required: bool
    type: str
    description: str


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    schema: str  # the component's name, or "" when inline


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Parameter]
    responses: list[Response]
    curl: str


@dataclass(frozen=True)
class Schema:
    name: str
    fields: list[Parameter]  # location is "" for a body's field


@dataclass
class Section:
    tag: str
    operations: list[Operation] = field(default_factory=list)


def sections(document: dict, base: str) -> list[Section]:
    """Return the document's operations grouped by their first tag, in the document's order."""
    grouped: dict[str, Section] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = _operation(path, method, item[method], base)
                tag = (item[method].get("tags") or ["other"])[0]
                grouped.setdefault(tag, Section(tag)).operations.append(operation)
    return list(grouped.values())


def schemas(document: dict) -> list[Schema]:
    """Return the document's response bodies with their fields, by name."""
    found = []
    for name, spec in sorted(document["components"]["schemas"].items()):
        required = set(spec.get("required", []))
        fields = [
            Parameter(field, "", field in required, _type(prop), prop.get("description", ""))
            for field, prop in spec.get("properties", {}).items()
        ]
        found.append(Schema(name, fields))
    return found


def curl(base: str, path: str, params: dict[str, str] | None = None, *, token: bool = True) -> str:
    """Return a curl command for GET base+path; query values are sent with --data-urlencode, so
    Chinese and spaces arrive encoded whatever the shell's locale."""
    parts = ["curl"]
    if params:
        parts.append("-G")
        parts += [f"--data-urlencode {shlex.quote(f'{k}={v}')}" for k, v in params.items()]
    if token:
        parts.append(f"-H {shlex.quote(TOKEN_HEADER)}")
    parts.append(shlex.quote(base.rstrip("/") + path))
    return " ".join(parts)


def index_links(document: dict, base: str) -> dict[str, str]:
    """Return {operationId: absolute URL} of the GET operations that take no path parameter."""
    return {
        item["get"]["operationId"]: base.rstrip("/") + path
        for path, item in document["paths"].items()
        if "get" in item and "{" not in path
    }


def _operation(path: str, method: str, spec: dict, base: str) -> Operation:
    parameters = [_parameter(p) for p in spec.get("parameters", [])]
    examples = {p.name: EXAMPLES[p.name] for p in parameters if p.location == "query" and p.name in EXAMPLES}
    return Operation(
        id=spec["operationId"],
        method=method.upper(),
        path=path,
        summary=spec.get("summary", ""),
        description=spec.get("description", ""),
        parameters=parameters,
        responses=[_response(status, r) for status, r in spec.get("responses", {}).items()],
        curl=curl(base, re.sub(r"\{(\w+)\}", r"<\1>", path), examples),  # curl would glob {…}
    )


def _parameter(spec: dict) -> Parameter:
    return Parameter(
        name=spec["name"],
        location=spec["in"],
        required=bool(spec.get("required")),
        type=_type(spec.get("schema", {})),
        description=spec.get("description", ""),
    )


def _response(status: str, spec: dict) -> Response:
    schema = spec.get("content", {}).get("application/json", {}).get("schema", {})
    return Response(status, spec.get("description", ""), schema.get("$ref", "").rsplit("/", 1)[-1])


def _type(schema: dict) -> str:
    """Describe a parameter's schema in a few characters: integer, string, array of string, one of a|b."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("nullable"):
        return f"{_type({k: v for k, v in schema.items() if k != 'nullable'})} | null"
    if schema.get("type") == "array":
        item = _type(schema.get("items", {}))
        return f"({item})[]" if " " in item else f"{item}[]"
    if schema.get("enum"):
        return " | ".join(str(v) for v in schema["enum"] if v != "") or schema.get("type", "")
    return schema.get("type", "")
