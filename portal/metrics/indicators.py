"""The indicators of a year, for the city and each county, read from the rollups and snapshots.

Which region a figure belongs to (the methodology page says the same):
- catalogue figures (datasets, resources, volume): the region of the dataset's department;
- downloads and API calls: events on datasets of that region's departments;
- active users (DAU, MAU): registered users bound to the county, that is its county members;
  developers, judges and office staff have no county and count for the city only;
- applications: the county that registered them; contest entries: the team's county;
- authorised data volume (授权数据量): conditional datasets granted by access requests approved in the
  year, by the requester's county; requesters without one count for the city only (`authorised`).
The city's figure covers everything: all datasets, all events, all active users.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from portal import clock, names
from portal.accounts.models import DEVELOPER, User
from portal.applications.models import APPROVED, Application
from portal.contest.models import Contest, Entry, Round, Team
from portal.extensions import db
from portal.metrics import authorised, per_capita, rollup, snapshots, themes
from portal.metrics.models import ActiveUserCount, DailyActivity, DailyTotal
from portal.regions import population
from portal.regions.models import Population, Region


@dataclass(frozen=True)
class Figures:
    """One region's indicators for a year; None means missing (see `per_capita`)."""

    region_id: int
    code: str
    name: str
    name_en: str
    is_city: bool
    datasets: int | None
    resources: int | None
    measured_datasets: int | None
    volume: int | None
    population: int | None
    population_year: int | None  # the year of the figure used: `year`, or the latest earlier one
    population_source: str | None
    per_capita_volume: Decimal | None
    measured_share: Decimal | None
    downloads: int | None
    api_calls: int | None
    developers: int | None  # the city's only: developers have no county
    dau: Decimal | None
    mau: Decimal | None
    approved_by_quarter: tuple[int, ...]
    applications_approved: int
    exemplary: int
    contest_entries: int
    authorised_grants: int = 0  # (requester, conditional dataset) grants approved in the year
    authorised_volume: int = 0  # Σ the granted datasets' volume (授权数据量)


@dataclass(frozen=True)
class Report:
    year: int
    quarters: tuple[str, ...]
    regions: tuple[Figures, ...]  # the city first, then the counties in seed order
    themes: themes.ThemeTable
    catalogue_day: date | None  # the snapshot's day; None when measured live or missing
    catalogue_taken_at: datetime | None
    activity_days: int  # rolled-up days in the year
    rolled_through: date | None  # the rollup's watermark
    contests: int  # contests held in the year
    latest_population_year: int | None  # the latest year with any population figure

    @property
    def city(self) -> Figures:
        return self.regions[0]

    @property
    def counties(self) -> tuple[Figures, ...]:
        return self.regions[1:]

    @property
    def earlier_population_years(self) -> tuple[int, ...]:
        """Return the earlier years whose population figures stand in for this year's, oldest first."""
        used = {f.population_year for f in self.regions if f.population_year is not None}
        return tuple(sorted(y for y in used if y != self.year))

    @property
    def has_catalogue(self) -> bool:
        return self.catalogue_taken_at is not None

    @property
    def counties_per_capita(self) -> Decimal | None:
        """Σ volume / Σ population over the counties that have both: the benchmark for a county.

        Not the city's figure, which also counts the city departments' datasets: against it every
        county would fall short.
        """
        known = [c for c in self.counties if c.volume is not None and c.population]
        if not known:
            return None
        return per_capita.per_capita(sum(c.volume for c in known), sum(c.population for c in known))

    @property
    def counties_measured_share(self) -> Decimal | None:
        """Σ measured datasets / Σ published datasets over the counties."""
        known = [c for c in self.counties if c.datasets]
        return per_capita.share(sum(c.measured_datasets for c in known), sum(c.datasets for c in known))


@dataclass(frozen=True)
class _Activity:
    days: int
    months: int
    events: dict[int, dict[str, int]]  # region id → kind → events
    dau_total: dict[int, int]  # region id → Σ daily active users over the days
    mau_total: dict[int, int]  # region id → Σ monthly active users over the months


@dataclass(frozen=True)
class _Sources:
    """Everything read for a year, before it is split by region."""

    year: int
    catalogue: snapshots.Catalogue | None
    activity: _Activity
    populations: dict[int, Population]  # region id → the figure in effect for the year
    approved: dict[str, dict[int, int]]  # quarter → county id → approved applications
    exemplary: dict[int, int]
    entries: dict[int | None, int]
    developers: int
    authorised: dict[int | None, authorised.Authorised]


def report(year: int, *, now: datetime) -> Report:
    """Gather the year's indicators of the city and every county."""
    city = rollup.city_id()
    regions = list(db.session.scalars(select(Region).order_by(Region.position, Region.code)))
    regions.sort(key=lambda r: not r.is_city)
    catalogue = _catalogue(year, city, now)
    activity = _activity(year)
    approved, exemplary = _applications(year)
    sources = _Sources(
        year,
        catalogue,
        activity,
        population.in_effect(year),
        approved,
        exemplary,
        _contest_entries(year),
        _developers(year),
        authorised.of_year(year),
    )
    return Report(
        year=year,
        quarters=tuple(clock.quarters_of(year)),
        regions=tuple(_figures(r, sources) for r in regions),
        themes=themes.table(catalogue.themes if catalogue else None),
        catalogue_day=catalogue.day if catalogue else None,
        catalogue_taken_at=catalogue.taken_at if catalogue else None,
        activity_days=activity.days,
        rolled_through=rollup.watermark(),
        contests=db.session.scalar(
            select(func.count()).where(Contest.year == year, Contest.published_at.is_not(None))  # not drafts
        )
        or 0,
        latest_population_year=db.session.scalar(select(func.max(Population.year))),
    )


def _figures(region: Region, sources: _Sources) -> Figures:
    """Assemble one region's figures: a county's own, or the city's: the sum over every region."""

    def own(table: dict) -> int:
        return sum(table.values()) if region.is_city else table.get(region.id, 0)

    catalogue, activity = sources.catalogue, sources.activity
    rows = [] if catalogue is None else list(catalogue.regions.values())
    if not region.is_city:
        rows = [r for r in rows if r.region_id == region.id]
    datasets = sum(r.datasets for r in rows) if catalogue else None
    measured = sum(r.measured_datasets for r in rows) if catalogue else None
    volume = per_capita.volume(measured, sum(r.volume for r in rows)) if catalogue else None
    figure = sources.populations.get(region.id)
    people = figure.population if figure else None
    downloads = own({r: kinds.get("download", 0) for r, kinds in activity.events.items()})
    api_calls = own({r: kinds.get("api_call", 0) for r, kinds in activity.events.items()})
    approved = tuple(own(sources.approved[q]) for q in clock.quarters_of(sources.year))
    grants = own({r: a.grants for r, a in sources.authorised.items()})
    granted_volume = own({r: a.volume for r, a in sources.authorised.items()})
    return Figures(
        region_id=region.id,
        code=region.code,
        name=region.name,
        name_en=names.english_region_name(region.code, region.name_en),
        is_city=region.is_city,
        datasets=datasets,
        resources=sum(r.resources for r in rows) if catalogue else None,
        measured_datasets=measured,
        volume=volume,
        population=people,
        population_year=figure.year if figure else None,
        population_source=figure.source if figure else None,
        per_capita_volume=per_capita.per_capita(volume, people),
        measured_share=per_capita.share(measured, datasets),
        downloads=downloads if activity.days else None,
        api_calls=api_calls if activity.days else None,
        developers=sources.developers if region.is_city else None,
        dau=per_capita.mean(activity.dau_total.get(region.id, 0), activity.days),
        mau=per_capita.mean(activity.mau_total.get(region.id, 0), activity.months),
        approved_by_quarter=approved,
        applications_approved=sum(approved),
        exemplary=own(sources.exemplary),
        contest_entries=own(sources.entries),
        authorised_grants=grants,
        authorised_volume=granted_volume,
    )


def _catalogue(year: int, city: int, now: datetime) -> snapshots.Catalogue | None:
    """The year's last snapshot; for the current year without one yet, the catalogue measured now."""
    first, last = clock.year_bounds(year)
    found = snapshots.latest(first, last)
    if found is None and year == clock.day_of(now).year:
        return snapshots.live(city, now)
    return found


def _activity(year: int) -> _Activity:
    first, last = clock.year_bounds(year)
    days = list(db.session.scalars(select(DailyTotal.day).where(DailyTotal.day.between(first, last))))
    events: dict[int, dict[str, int]] = defaultdict(dict)
    for region_id, kind, n in db.session.execute(
        select(DailyActivity.region_id, DailyActivity.kind, func.sum(DailyActivity.events))
        .where(DailyActivity.day.between(first, last))
        .group_by(DailyActivity.region_id, DailyActivity.kind)
    ):
        events[region_id][kind] = int(n)
    totals = {}
    for period in ("day", "month"):
        totals[period] = {
            region_id: int(n)
            for region_id, n in db.session.execute(
                select(ActiveUserCount.region_id, func.sum(ActiveUserCount.users))
                .where(ActiveUserCount.period == period, ActiveUserCount.start.between(first, last))
                .group_by(ActiveUserCount.region_id)
            )
        }
    months = len({clock.month_start(d) for d in days})
    return _Activity(len(days), months, dict(events), totals["day"], totals["month"])


def _applications(year: int) -> tuple[dict[str, dict[int, int]], dict[int, int]]:
    """Return quarter → county → approved applications, and county → exemplary ones, of the year."""
    quarters = clock.quarters_of(year)
    approved: dict[str, dict[int, int]] = {q: {} for q in quarters}
    for region_id, quarter, n in db.session.execute(
        select(Application.region_id, Application.quarter, func.count())
        .where(Application.status == APPROVED, Application.quarter.in_(quarters))
        .group_by(Application.region_id, Application.quarter)
    ):
        approved[quarter][region_id] = n
    exemplary = dict(
        db.session.execute(
            select(Application.region_id, func.count())
            .where(Application.is_exemplary.is_(True), Application.quarter.in_(quarters))
            .group_by(Application.region_id)
        ).all()
    )
    return approved, exemplary


def _contest_entries(year: int) -> dict[int | None, int]:
    """Return county → works entered in the year's contests: one per team and track, whatever the rounds."""
    works = db.session.execute(
        select(Team.region_id, Entry.team_id, Entry.track_id)
        .join(Team, Team.id == Entry.team_id)
        .join(Round, Round.id == Entry.round_id)
        .join(Contest, Contest.id == Round.contest_id)
        .where(Contest.year == year)
        .distinct()
    )
    counts: dict[int | None, int] = defaultdict(int)
    for region_id, _team, _track in works:
        counts[region_id] += 1
    return dict(counts)


def _developers(year: int) -> int:
    """Return the active developer accounts registered by the end of `year`."""
    end = clock.day_start(date(year + 1, 1, 1))
    return (
        db.session.scalar(
            select(func.count()).where(User.role == DEVELOPER, User.active.is_(True), User.created_at < end)
        )
        or 0
    )


def years(*, now: datetime) -> list[int]:
    """Return the years worth offering, newest first: those with population figures or rollups, and now."""
    found = set(db.session.scalars(select(Population.year).distinct()))
    first, last = db.session.execute(select(func.min(DailyTotal.day), func.max(DailyTotal.day))).one()
    if first is not None:
        found |= set(range(first.year, last.year + 1))
    found.add(clock.day_of(now).year)
    return sorted(found, reverse=True)


SORTABLE = (
    "datasets",
    "volume",
    "per_capita_volume",
    "measured_share",
    "downloads",
    "api_calls",
    "dau",
    "mau",
    "applications_approved",
    "contest_entries",
    "authorised_volume",
)


def sort_counties(counties: tuple[Figures, ...], key: str, *, descending: bool) -> list[Figures]:
    """Sort counties by a figure (seed order for an unknown key); missing figures always come last."""
    if key not in SORTABLE:
        return list(counties)
    known = [c for c in counties if getattr(c, key) is not None]
    missing = [c for c in counties if getattr(c, key) is None]
    return sorted(known, key=lambda c: getattr(c, key), reverse=descending) + missing
