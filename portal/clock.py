"""The city's clock: the current moment, and days, months, quarters and years in Asia/Shanghai time.

Every timestamp is stored as an aware UTC datetime; the city lives by Shanghai's calendar, so a day runs from
00:00 to 24:00 there (16:00 UTC the day before to 16:00 UTC), and a quarter such as "2026Q1" from its first
day's midnight to the next quarter's. Everything here is pure except `now()`, the one place the process reads
the time: tests freeze it with `frozen(moment)`. Quarters are written `YYYYQn`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_QUARTER = re.compile(r"([0-9]{4})Q([1-4])")
_frozen_at: datetime | None = None


class BadQuarter(ValueError):
    """A string is not a quarter such as 2020Q1."""


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware datetime")
    return moment


# The current moment


def now() -> datetime:
    """Return the current time, aware, in UTC (the frozen moment inside `frozen`)."""
    return _frozen_at if _frozen_at is not None else datetime.now(UTC)


def today() -> date:
    """Return today's date in Shanghai."""
    return day_of(now())


@contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """Make `now()` answer `moment` (aware) in every thread until the block ends; for tests and demos."""
    global _frozen_at
    before, _frozen_at = _frozen_at, _aware(moment).astimezone(UTC)
    try:
        yield _frozen_at
    finally:
        _frozen_at = before


# Wall-clock time of the city


def from_local(moment: datetime) -> datetime:
    """Read a naive wall-clock time of the city (as a form gives it) as an aware UTC datetime."""
    return moment.replace(tzinfo=SHANGHAI).astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """Return the naive wall-clock time of the city for an aware datetime (to fill a form)."""
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


# Days, months and years


def day_of(moment: datetime) -> date:
    """Return the Shanghai calendar day that the aware `moment` falls on."""
    return _aware(moment).astimezone(SHANGHAI).date()


def day_start(day: date) -> datetime:
    """Return the moment (aware, UTC) at which the Shanghai `day` begins."""
    return datetime.combine(day, time.min, SHANGHAI).astimezone(UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the Shanghai `day` as [start, end) in UTC."""
    return day_start(day), day_start(day + timedelta(days=1))


def days(first: date, last: date) -> list[date]:
    """Return every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def year_bounds(year: int) -> tuple[date, date]:
    """Return the first and last day of `year`."""
    return date(year, 1, 1), date(year, 12, 31)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """Return the first day of the month after `day`'s."""
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


# Quarters


def quarter_of_month(month: int) -> int:
    return (month - 1) // 3 + 1


def quarter_label(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def quarter_of(moment: datetime) -> str:
    """Return the quarter that the aware `moment` falls in, in Shanghai: "2020Q1"."""
    local = day_of(moment)
    return quarter_label(local.year, quarter_of_month(local.month))


def parse_quarter(quarter: str) -> tuple[int, int]:
    """Return (year, n) of "2020Q3"; raise BadQuarter for anything else."""
    match = _QUARTER.fullmatch(quarter or "")
    if match is None:
        raise BadQuarter(f"not a quarter: {quarter!r}")
    return int(match[1]), int(match[2])


def is_quarter(quarter: str) -> bool:
    try:
        parse_quarter(quarter)
    except BadQuarter:
        return False
    return True


def year_of_quarter(quarter: str) -> int:
    return parse_quarter(quarter)[0]


def quarters_of(year: int) -> list[str]:
    return [quarter_label(year, n) for n in range(1, 5)]


def first_day(quarter: str) -> date:
    year, n = parse_quarter(quarter)
    return date(year, 3 * (n - 1) + 1, 1)


def following(quarter: str) -> str:
    year, n = parse_quarter(quarter)
    return quarter_label(year + 1, 1) if n == 4 else quarter_label(year, n + 1)


def preceding(quarter: str) -> str:
    year, n = parse_quarter(quarter)
    return quarter_label(year - 1, 4) if n == 1 else quarter_label(year, n - 1)


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """Return the quarter's start (inclusive) and end (exclusive) as aware UTC datetimes."""
    return day_start(first_day(quarter)), day_start(first_day(following(quarter)))


def days_left(quarter: str, moment: datetime) -> int:
    """Return the calendar days left in the quarter at `moment`, its day included; 0 once it is over.

    On the quarter's last day one day is left; before the quarter starts, all of its days are.
    """
    day = day_of(moment)
    start, end = first_day(quarter), first_day(following(quarter))
    return max(0, (end - max(day, start)).days)


def recent_quarters(moment: datetime, count: int = 5) -> list[str]:
    """Return the quarter of `moment` and the `count - 1` before it, newest first."""
    quarters = [quarter_of(moment)]
    while len(quarters) < count:
        quarters.append(preceding(quarters[-1]))
    return quarters


def middle_of(quarter: str) -> datetime:
    """Return a moment well inside the quarter (its 45th day, noon in Shanghai), in UTC."""
    local = datetime.combine(first_day(quarter) + timedelta(days=44), time(12), SHANGHAI)
    return local.astimezone(UTC)
