"""The Action API's parameters read as CKAN's validators read them, and the errors CKAN answers with."""

from __future__ import annotations

from typing import Any

from portal import inputs

BIGGEST = 2**62  # LIMIT and OFFSET beyond this overflow PostgreSQL's bigint


class ActionError(Exception):
    """An error answer: its HTTP status and the envelope's `error` dict."""

    def __init__(self, status: int, error: dict) -> None:
        super().__init__(status, error)
        self.status, self.error = status, error


def not_found() -> ActionError:
    return ActionError(404, {"__type": "Not Found Error", "message": "Not found"})


def invalid(errors: dict) -> ActionError:
    return ActionError(409, {**errors, "__type": "Validation Error"})


def search_error(params: dict, reason: str) -> ActionError:
    detail = f"SOLR returned an error running query: {params!r} Error: {reason!r}"
    return ActionError(409, {"__type": "Search Error", "message": f"Search error: {detail!r}"})


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(has_nul(v) for v in value)


def integer(params: dict, key: str, default: int | None) -> int | None:
    """Read an integer parameter through the shared reader (ASCII digits, 64 bits)."""
    try:
        return inputs.optional_number(params.get(key), default)
    except inputs.BadInput:
        raise invalid({key: ["Invalid integer"]}) from None


def natural(params: dict, key: str, default: int | None) -> int | None:
    number = integer(params, key, default)
    if number is not None and number < 0:
        raise invalid({key: ["Must be a natural number"]})
    return number


def string(params: dict, key: str, default: str = "") -> str:
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, dict | list):
        raise invalid({key: ["Must be a string"]})
    return str(value)


def boolean(params: dict, key: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, str):
        return bool(value)
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "on", "y", "t", "1"):
        return True
    if lowered in ("false", "no", "off", "n", "f", "0", ""):
        return False
    raise invalid({key: [f"String is not true/false: {value!r}"]})
