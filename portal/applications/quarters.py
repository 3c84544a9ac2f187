"""Calendar quarters written `YYYYQn`, reckoned in Asia/Shanghai time whatever the server's zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_QUARTER = re.compile(r"(\d{4})Q([1-4])")


class BadQuarter(ValueError):
    """A string is not a quarter such as 2020Q1."""


def quarter_of(moment: datetime) -> str:
    """Return the quarter that the aware `moment` falls in, in Shanghai: "2020Q1"."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware datetime")
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def parse(quarter: str) -> tuple[int, int]:
    """Return (year, n) of "2020Q3"; raise BadQuarter for anything else."""
    match = _QUARTER.fullmatch(quarter or "")
    if match is None:
        raise BadQuarter(f"not a quarter: {quarter!r}")
    return int(match[1]), int(match[2])


def is_quarter(quarter: str) -> bool:
    try:
        parse(quarter)
    except BadQuarter:
        return False
    return True


def year_of(quarter: str) -> int:
    return parse(quarter)[0]


def first_day(quarter: str) -> date:
    year, n = parse(quarter)
    return date(year, 3 * (n - 1) + 1, 1)


def following(quarter: str) -> str:
    year, n = parse(quarter)
    return f"{year + 1}Q1" if n == 4 else f"{year}Q{n + 1}"


def preceding(quarter: str) -> str:
    year, n = parse(quarter)
    return f"{year - 1}Q4" if n == 1 else f"{year}Q{n - 1}"


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """Return the quarter's start (inclusive) and end (exclusive) as aware UTC datetimes."""
    start = datetime.combine(first_day(quarter), datetime.min.time(), SHANGHAI)
    end = datetime.combine(first_day(following(quarter)), datetime.min.time(), SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def days_left(quarter: str, now: datetime) -> int:
    """Return the calendar days left in the quarter, today included; 0 once it is over.

    On the quarter's last day one day is left; before the quarter starts, all of its days are.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime given; use an aware datetime")
    today = now.astimezone(SHANGHAI).date()
    start, end = first_day(quarter), first_day(following(quarter))
    return max(0, (end - max(today, start)).days)


def quarters_of_year(year: int) -> list[str]:
    return [f"{year}Q{n}" for n in range(1, 5)]


def recent(now: datetime, count: int = 5) -> list[str]:
    """Return the current quarter and the `count - 1` before it, newest first."""
    quarters = [quarter_of(now)]
    while len(quarters) < count:
        quarters.append(preceding(quarters[-1]))
    return quarters


def middle_of(quarter: str) -> datetime:
    """Return a moment well inside the quarter (its 45th day, noon in Shanghai), in UTC."""
    local = datetime.combine(first_day(quarter) + timedelta(days=44), datetime.min.time(), SHANGHAI)
    return local.replace(hour=12).astimezone(UTC)
