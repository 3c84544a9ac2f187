"""Dates: CKAN stores naive UTC; Solr keeps milliseconds, wants a Z and knows date math."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .errors import _Unsupported

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
