"""Read settings from environment variables, typed by their defaults in `portal.config`.

Every UPPERCASE name in `portal.config` is a setting, and the environment variable of the same name
overrides it. The value is parsed by the type of the default, or by the name's annotation when the
default is None (`MAX_ITEMS: int | None = None`); an empty variable counts as unset. A value that
does not parse raises `ConfigError` naming the variable, so a bad deployment fails at start-up
instead of on the first request that reads the setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from types import ModuleType

from limits import parse_many

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
_ANNOTATED = {
    t.__name__: t for t in (str, int, float, bool, list, tuple, dict, timedelta)
}  # by name: under `from __future__ import annotations` an annotation is a string
_WORD = re.compile(r"[A-Za-z_]\w*")


class ConfigError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def setting_names(defaults: ModuleType) -> list[str]:
    """Return the names of the settings that `defaults` declares, in declaration order."""
    return [name for name in vars(defaults) if name.isupper() and not name.startswith("_")]


def settings_from(environ: Mapping[str, str], defaults: ModuleType) -> dict:
    """Return the settings that `environ` sets, each parsed like its default in `defaults`."""
    annotations = getattr(defaults, "__annotations__", {})
    settings = {}
    for name in setting_names(defaults):
        raw = environ.get(name, "")
        if raw.strip() == "":
            continue
        kind = _kind(getattr(defaults, name), annotations.get(name))
        try:
            settings[name] = _parse(name, raw.strip(), getattr(defaults, name), kind)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"environment variable {name}={raw!r}: {exc}") from None
    return settings


def _kind(default: object, annotation: object) -> type:
    if default is None:  # "int | None", "Optional[int]", "list[str] | None": the first real type names it
        words = [w for w in _WORD.findall(str(annotation or "str")) if w not in ("None", "Optional")]
        return _ANNOTATED.get(words[0] if words else "str", str)
    return type(default)


def _parse(name: str, raw: str, default: object, kind: type) -> object:
    if kind is bool:
        if raw.lower() in TRUE + FALSE:
            return raw.lower() in TRUE
        raise ValueError(f"expected a boolean ({'/'.join(TRUE)} or {'/'.join(FALSE)})")
    if kind is int:
        return _number(raw, int, "an integer")
    if kind is float:
        return _number(raw, float, "a number")
    if kind is timedelta:
        return timedelta(seconds=_number(raw, float, "a number of seconds"))
    if kind in (list, tuple):
        items = [item.strip() for item in raw.split(",") if item.strip()]
        item_kind = type(default[0]) if default else str
        return kind(_parse(name, item, None, item_kind) for item in items)
    if kind is dict:
        return _json_object(raw, default)
    if kind is not str:
        raise ValueError(f"a setting of type {kind.__name__} cannot be read from the environment")
    if "RATELIMIT" in name:
        parse_many(raw)  # "10 per minute; 100 per hour": a typo would otherwise surface on the first request
    return raw


def _number(raw: str, kind: type, what: str) -> int | float:
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"expected {what}") from None
    if value < 0:
        raise ValueError(f"expected {what}, not negative")
    return value


def _json_object(raw: str, default: dict) -> dict:
    """Parse a JSON object whose values have the type of the default's values (when they share one)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValueError('expected a JSON object, such as {"key": "value"}')
    kinds = {type(v) for v in (default or {}).values()}
    if len(kinds) == 1:
        (kind,) = kinds
        wrong = [key for key, v in value.items() if type(v) is not kind]
        if wrong:
            raise ValueError(f"expected {kind.__name__} values, not for {', '.join(map(str, wrong))}")
    return value
