"""Read untrusted input once, the same way everywhere: whole numbers, pages and JSON bodies.

What passes these readers can go to the database and the templates without breaking them:
numbers are ASCII digits that fit a 64-bit integer (`"²".isdigit()` is true, and SQLite and
PostgreSQL refuse integers past 64 bits), and JSON is shallow enough for recursive code,
without lone surrogates (which no database encoding can store) or non-finite numbers.
Pure functions, and `init_app`: Flask's `request.get_json` reads through `loads`, and the
HTML pages refuse JSON bodies (Flask-WTF would feed any JSON value to the forms as form data,
and a list or a number where a form expects text breaks them).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask, abort, request
from flask.globals import _cv_request
from flask.json.provider import DefaultJSONProvider

BIGGEST = 2**63 - 1
MAX_JSON_DEPTH = 32  # CKAN action bodies and forms need 3
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")
_STRICT = re.compile(r"-?[0-9]{1,19}")  # as JSON and OpenAPI's integers are written
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadInput(ValueError):
    """The input is malformed; the message says how, for the caller."""


def whole_number(raw: Any, *, minimum: int = -BIGGEST, maximum: int = BIGGEST, strict: bool = False) -> int:
    """Read an integer written in ASCII digits within [minimum, maximum]; raise BadInput otherwise.

    Accepts an int (not a bool) as JSON bodies carry it, or its text, with surrounding spaces and
    a plus sign unless `strict` (as an API whose document says "integer" must).
    """
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise BadInput("must be a whole number")
    if isinstance(raw, str):
        text = raw if strict else raw.strip()
        if not (_STRICT if strict else _WHOLE).fullmatch(text):
            raise BadInput("must be a whole number written in digits 0-9")
        raw = int(text)
    if not minimum <= raw <= maximum:
        raise BadInput(f"must be from {minimum} to {maximum}")
    return raw


def optional_number(raw: Any, default: int | None, strict: bool = False, **bounds: int) -> int | None:
    """Read `raw` as whole_number does, or return `default` when it is absent (or, unless `strict`, blank)."""
    if raw is None or (not strict and isinstance(raw, str) and not raw.strip()):
        return default
    return whole_number(raw, strict=strict, **bounds)


def page_number(raw: Any, maximum: int = 100_000) -> int:
    """Read a page number (1 when absent or blank); raise BadInput for anything else out of 1..maximum."""
    return optional_number(raw, 1, minimum=1, maximum=maximum)


def loads(text: str | bytes) -> Any:
    """Parse JSON as json.loads does; raise BadInput when it nests deeper than MAX_JSON_DEPTH,
    holds a lone surrogate, NaN or Infinity, or an integer past 64 bits."""

    def refuse_constant(name: str):
        raise BadInput(f"JSON value {name} is not allowed")

    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise BadInput(f"JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    check(value)
    return value


def check(value: Any) -> None:
    """Raise BadInput when parsed JSON `value` breaks one of the limits `loads` names."""
    stack = [(value, 1)]
    while stack:  # iterative: depth is what is being checked
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadInput(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BadInput("JSON text holds a lone surrogate (not a Unicode character)")
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not -BIGGEST <= item <= BIGGEST:
                raise BadInput("JSON integer does not fit 64 bits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BadInput("JSON number is not finite")
        elif isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            stack.extend((k, depth + 1) for k in item)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies through `loads` (its BadInput is a ValueError, which
    `request.get_json` turns into 400 Bad Request)."""

    ensure_ascii = False  # Chinese comes out readable

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


def refuse_json_on_pages() -> None:
    """Answer 415 to a JSON body sent to an HTML page: its forms take form data only."""
    # no body type, no JSON: most requests, in two calls (the request from its context variable)
    if not _cv_request.get().request.environ.get("CONTENT_TYPE"):
        return
    if request.is_json and not request.path.startswith("/api/") and request.content_length != 0:
        abort(415)


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)  # bounded, surrogate-free request JSON; readable Chinese
    app.before_request(refuse_json_on_pages)
