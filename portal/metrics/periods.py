"""Days, months, quarters and years reckoned in Asia/Shanghai time, whatever the server's zone.

Statistics count a day as the city lives it: 2026-03-01 runs from 00:00 to 24:00 in Shanghai,
that is from 16:00 UTC the day before. Pure functions, no app, no database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def day_of(moment: datetime) -> date:
    """Return the Shanghai calendar day that the aware `moment` falls on."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware datetime")
    return moment.astimezone(SHANGHAI).date()


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


def quarter_of_month(month: int) -> int:
    return (month - 1) // 3 + 1


def quarter_label(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def quarters_of(year: int) -> list[str]:
    return [quarter_label(year, n) for n in range(1, 5)]
