"""The quality board (issue 17 item 4): data quality per department and per county, its trend, its exports.

Today's figures are catalogue/quality.py's `summary`, the very rows /api/v1/quality/departments and
/quality/counties answer, so the pages and the API cannot disagree; the trend reads the daily quality
snapshots (metrics/quality_trends.py) of the last `days` days, for the city or one county.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.catalogue import quality
from portal.extensions import db
from portal.metrics import charts, quality_trends
from portal.regions.models import Region

DAYS, MIN_DAYS, MAX_DAYS = 30, 7, 366  # the trend's window: default and bounds
TABLES = ("departments", "counties", "trend")


class UnknownCounty(LookupError):
    """No region has the code asked for."""


@dataclass(frozen=True)
class Board:
    total: dict
    departments: list[dict]
    counties: list[dict]
    region: Region | None  # whose trend: None for the city
    regions: list[Region]
    days: int
    trend: list[quality_trends.Point]
    chart: charts.LineChart


def board(now: datetime, *, days: int = DAYS, county: str = "", reuse_within: float = 0.0) -> Board:
    """Build the board; `county` (a region code, "" for the city) picks the trend; raise UnknownCounty.
    `reuse_within`: how stale today's figures may get while the catalogue changes (quality.standings)."""
    regions = list(db.session.scalars(select(Region).order_by(Region.position, Region.code)))
    region = None
    if county:
        region = next((r for r in regions if r.code == county), None)
        if region is None:
            raise UnknownCounty(county)
    today = clock.day_of(now)
    points = quality_trends.trend(today - timedelta(days=days - 1), today, region.id if region else None)
    summary = quality.summary(now, reuse_within=reuse_within)
    return Board(
        total=summary["total"],
        departments=summary["departments"],
        counties=summary["counties"],
        region=region,
        regions=regions,
        days=days,
        trend=points,
        chart=trend_chart(points),
    )


def trend_chart(points: list[quality_trends.Point]) -> charts.LineChart:
    """Overdue datasets and broken resources per day, as lines."""
    return charts.line_chart(
        [p.day.strftime("%m-%d") for p in points],
        [
            (str(_l("Overdue datasets")), [p.figures["overdue"] for p in points]),
            (str(_l("Broken resources")), [p.figures["broken_resources"] for p in points]),
        ],
    )


def _figures(row: dict) -> list:
    """The row's figures for a sheet: means as Decimal, which the exports write as numbers."""
    means = [row["mean_openness_stars"], row["mean_completeness"]]
    return [
        row["datasets"],
        row["overdue"],
        row["broken_resources"],
        *(None if m is None else Decimal(str(m)) for m in means),
    ]


def _header() -> list:
    return [
        _l("Published datasets"),
        _l("Overdue datasets"),
        _l("Broken resources"),
        _l("Mean openness stars"),
        _l("Mean metadata completeness"),
    ]


def _safe(text: str) -> str:
    """Keep a spreadsheet from running a CKAN title as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def tables(b: Board) -> dict[str, list[list]]:
    """Every table of the board by name, each a header row then data rows (figures as numbers)."""
    return {
        "departments": [
            [_l("Organization"), _l("Department"), *_header()],
            *([_safe(r["organization"]), _safe(r["title"]), *_figures(r)] for r in b.departments),
        ],
        "counties": [
            [_l("Code"), _l("Region"), *_header()],
            *([r["code"], r["name"], *_figures(r)] for r in b.counties),
        ],
        "trend": [[_l("Day"), *_header()], *([p.day.isoformat(), *_figures(p.figures)] for p in b.trend)],
    }


def sheet_titles() -> dict[str, str]:
    return {"departments": str(_l("Departments")), "counties": str(_l("Counties")), "trend": str(_l("Trend"))}
