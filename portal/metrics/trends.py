"""Monthly and quarterly trends of a year, for the city or one county.

Per month: counted events by kind (a county's: those on its datasets), anonymous visitors (summed
over the days: visitors have no county, so the city only), the average of the daily active users,
the month's active users (MAU), and the per-capita volume at the month's last snapshot over the
year's population (or the latest earlier year's: `population.in_effect`). A quarter adds up its
months, averages DAU over its days and MAU over its months, and takes the per-capita volume of its
last month. A month without any rolled-up day is missing, not zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import extract, func, select

from portal import clock
from portal.applications.models import APPROVED, Application
from portal.extensions import db
from portal.metrics import per_capita, rollup, snapshots
from portal.metrics.models import ActiveUserCount, DailyActivity, DailyTotal
from portal.regions import population
from portal.regions.models import Region


@dataclass(frozen=True)
class Point:
    label: str  # 2026-03 or 2026Q1
    days: int  # rolled-up days
    events: dict[str, int] | None  # kind → counted events
    visitors: int | None
    dau_total: int
    dau: Decimal | None
    mau: Decimal | None
    volume: int | None
    per_capita_volume: Decimal | None
    applications_approved: int | None  # quarters only

    def count(self, kind: str) -> int | None:
        return None if self.events is None else self.events.get(kind, 0)


@dataclass(frozen=True)
class Trend:
    year: int
    region: Region
    months: tuple[Point, ...]
    quarters: tuple[Point, ...]


def trend(year: int, region: Region, *, now: datetime) -> Trend:
    """Build the months (up to the current one) and quarters of `year` for `region`."""
    city = rollup.city_id()
    first, last = clock.year_bounds(year)
    today = clock.day_of(now)
    months_shown = 12 if today.year > year else (today.month if today.year == year else 0)
    only = None if region.is_city else region.id
    events = _events(first, last, only)
    totals = _totals(first, last)
    dau = _active("day", first, last, region.id if only else city)
    mau = _active("month", first, last, region.id if only else city)
    volumes = _month_end_volumes(first, last, only)
    figure = population.in_effect(year).get(region.id)
    people = figure.population if figure else None
    months = []
    for m in range(1, months_shown + 1):
        days, visitors = totals.get(m, (0, 0))
        volume = volumes.get(m)
        months.append(
            Point(
                label=f"{year}-{m:02d}",
                days=days,
                events=events.get(m, {}) if days else None,
                visitors=(visitors if only is None else None) if days else None,
                dau_total=dau.get(m, 0),
                dau=per_capita.mean(dau.get(m, 0), days),
                mau=Decimal(mau.get(m, 0)) if days else None,
                volume=volume,
                per_capita_volume=per_capita.per_capita(volume, people),
                applications_approved=None,
            )
        )
    return Trend(year, region, tuple(months), tuple(_quarters(year, months, _approved(year, only))))


def _quarters(year: int, months: list[Point], approved: dict[str, int]) -> list[Point]:
    quarters = []
    for n in range(1, 5):
        mine = [p for i, p in enumerate(months, start=1) if clock.quarter_of_month(i) == n]
        if not mine:
            break
        with_days = [p for p in mine if p.days]
        events: dict[str, int] = defaultdict(int)
        for p in with_days:
            for kind, count in (p.events or {}).items():
                events[kind] += count
        visitors = [p.visitors for p in with_days if p.visitors is not None]
        days = sum(p.days for p in mine)
        mau = per_capita.mean(int(sum(p.mau for p in with_days)), len(with_days)) if with_days else None
        end = next((p for p in reversed(mine) if p.volume is not None), None)
        label = clock.quarter_label(year, n)
        quarters.append(
            Point(
                label=label,
                days=days,
                events=dict(events) if with_days else None,
                visitors=sum(visitors) if visitors else None,
                dau_total=sum(p.dau_total for p in mine),
                dau=per_capita.mean(sum(p.dau_total for p in mine), days),
                mau=mau,
                volume=end.volume if end else None,
                per_capita_volume=end.per_capita_volume if end else None,
                applications_approved=approved.get(label, 0),
            )
        )
    return quarters


def _month(column):
    return extract("month", column)


def _events(first: date, last: date, region_id: int | None) -> dict[int, dict[str, int]]:
    month = _month(DailyActivity.day)
    query = (
        select(month, DailyActivity.kind, func.sum(DailyActivity.events))
        .where(DailyActivity.day.between(first, last))
        .group_by(month, DailyActivity.kind)
    )
    if region_id is not None:
        query = query.where(DailyActivity.region_id == region_id)
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for m, kind, n in db.session.execute(query):
        found[int(m)][kind] = int(n)
    return found


def _totals(first: date, last: date) -> dict[int, tuple[int, int]]:
    """Return month → (rolled-up days, Σ daily visitors)."""
    month = _month(DailyTotal.day)
    rows = db.session.execute(
        select(month, func.count(), func.sum(DailyTotal.visitors))
        .where(DailyTotal.day.between(first, last))
        .group_by(month)
    )
    return {int(m): (int(days), int(visitors or 0)) for m, days, visitors in rows}


def _active(period: str, first: date, last: date, region_id: int) -> dict[int, int]:
    """Return month → Σ daily active users (period "day") or the month's active users ("month")."""
    month = _month(ActiveUserCount.start)
    rows = db.session.execute(
        select(month, func.sum(ActiveUserCount.users))
        .where(
            ActiveUserCount.period == period,
            ActiveUserCount.region_id == region_id,
            ActiveUserCount.start.between(first, last),
        )
        .group_by(month)
    )
    return {int(m): int(n) for m, n in rows}


def _month_end_volumes(first: date, last: date, region_id: int | None) -> dict[int, int | None]:
    """Return month → volume at the month's last snapshot (None when nothing was measured)."""
    found: dict[int, tuple[date, int | None]] = {}
    for day, (volume, measured) in snapshots.volumes_by_day(first, last, region_id).items():
        if day.month not in found or day > found[day.month][0]:
            found[day.month] = (day, per_capita.volume(measured, volume))
    return {m: volume for m, (_day, volume) in found.items()}


def _approved(year: int, region_id: int | None) -> dict[str, int]:
    query = (
        select(Application.quarter, func.count())
        .where(Application.status == APPROVED, Application.quarter.in_(clock.quarters_of(year)))
        .group_by(Application.quarter)
    )
    if region_id is not None:
        query = query.where(Application.region_id == region_id)
    return {quarter: n for quarter, n in db.session.execute(query)}
