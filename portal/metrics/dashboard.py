"""What each statistics page shows, gathered by one call: figures, trends, charts, scorecard.

Chart labels are in the reader's language, so the callers say whether it is English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import clock
from portal.activity.models import ActivityEvent
from portal.extensions import db
from portal.metrics import charts, indicators, scorecard, trends
from portal.metrics.models import DailyTotal
from portal.regions import population
from portal.regions.models import Population, Region

SORT_KEYS = ("county", "targets_met", *scorecard.KEYS)


@dataclass(frozen=True)
class Statistics:
    report: indicators.Report
    trend: trends.Trend
    years: list[int]
    charts: dict[str, object]
    counties: list[indicators.Figures]  # in the order asked for
    sort: str
    descending: bool


@dataclass(frozen=True)
class RollupStatus:
    rolled_through: date | None
    rolled_up_at: datetime | None
    oldest_event: datetime | None


@dataclass(frozen=True)
class Dashboard(Statistics):
    scorecard: scorecard.Scorecard
    rows: list[scorecard.Row]  # in the order asked for
    regions: list[Region]  # the counties, for choosing the trends
    status: RollupStatus


@dataclass(frozen=True)
class Methodology:
    year: int
    years: list[int]
    populations: list[tuple[Region, Population | None]]  # the figure used for the year, maybe earlier
    retention_days: int
    city: indicators.Figures  # for a worked example of the formula


def statistics(
    year: int, *, now: datetime, sort: str = "", descending: bool = False, english: bool = False
) -> Statistics:
    """Gather the public statistics page: the figures, counties sorted as asked, the city's trends."""
    report = indicators.report(year, now=now)
    trend = trends.trend(year, _region(None), now=now)
    counties = indicators.sort_counties(report.counties, sort, descending=descending)
    return Statistics(
        report, trend, indicators.years(now=now), _charts(report, trend, english), counties, sort, descending
    )


def dashboard(
    year: int,
    *,
    now: datetime,
    county: str = "",
    sort: str = "county",
    descending: bool = False,
    english: bool = False,
) -> Dashboard:
    """Gather the office's dashboard: the figures, the scorecard sorted as asked, one region's trends."""
    report = indicators.report(year, now=now)
    trend = trends.trend(year, _region(county), now=now)
    card = scorecard.build(report, current_quarter=_quarter(now))
    sort = sort if sort in SORT_KEYS else "county"
    last = db.session.execute(
        select(DailyTotal.day, DailyTotal.rolled_up_at).order_by(DailyTotal.day.desc()).limit(1)
    ).first()
    status = RollupStatus(
        last.day if last else None,
        last.rolled_up_at if last else None,
        db.session.scalar(select(func.min(ActivityEvent.occurred_at))),
    )
    return Dashboard(
        report=report,
        trend=trend,
        years=indicators.years(now=now),
        charts={**_charts(report, trend, english), **_office_charts(trend)},
        counties=list(report.counties),
        sort=sort,
        descending=descending,
        scorecard=card,
        rows=scorecard.sort_rows(card.rows, sort, descending=descending),
        regions=[r for r in _regions() if not r.is_city],
        status=status,
    )


def methodology(year: int, *, now: datetime, retention_days: int) -> Methodology:
    """Gather what the methodology page states: the population figures used for `year`, their sources."""
    figures = population.in_effect(year)
    populations = [(r, figures.get(r.id)) for r in _regions()]
    city = indicators.report(year, now=now).city
    return Methodology(year, indicators.years(now=now), populations, retention_days, city)


def _regions() -> list[Region]:
    regions = list(db.session.scalars(select(Region).order_by(Region.position, Region.code)))
    return sorted(regions, key=lambda r: not r.is_city)


def _region(code: str | None) -> Region:
    """Return the county of `code`, or the city."""
    regions = _regions()
    return next((r for r in regions if code and r.code == code and not r.is_city), regions[0])


def _quarter(now: datetime) -> str:
    return clock.quarter_of(now)


def _charts(report: indicators.Report, trend: trends.Trend, english: bool) -> dict[str, object]:
    def name(f: indicators.Figures) -> str:
        return f.name_en if english else f.name

    months = [p.label[5:] for p in trend.months]
    return {
        "per_capita": charts.bar_chart(
            [(name(c), c.per_capita_volume) for c in report.counties], reference=report.counties_per_capita
        ),
        "themes": charts.bar_chart(
            [(t.title_en if english else t.title, t.city) for t in report.themes.priority],
            left=180 if english else 100,
        ),
        "activity": charts.line_chart(
            months,
            [
                (_l("Dataset views"), [p.count("dataset_view") for p in trend.months]),
                (_l("Downloads"), [p.count("download") for p in trend.months]),
                (_l("API calls"), [p.count("api_call") for p in trend.months]),
            ],
        ),
        "users": charts.line_chart(
            months,
            [
                (_l("Monthly active users"), [p.mau for p in trend.months]),
                (_l("Average daily active users"), [p.dau for p in trend.months]),
            ],
        ),
    }


def _office_charts(trend: trends.Trend) -> dict[str, object]:
    quarters = [p.label for p in trend.quarters]
    return {
        "quarters": charts.column_chart(
            quarters,
            [
                (_l("Downloads"), [p.count("download") for p in trend.quarters]),
                (_l("API calls"), [p.count("api_call") for p in trend.quarters]),
            ],
        ),
        "per_capita_trend": charts.line_chart(
            [p.label[5:] for p in trend.months],
            [(_l("Per-capita volume"), [p.per_capita_volume for p in trend.months])],
        ),
    }
