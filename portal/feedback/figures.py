"""Figures on error reports per department and per county, for /stats/, the scorecard and the API.

For a set of reports: reports, fixed, rejected, overdue (not replied to by the due moment, see
`reports.is_overdue`), the rectification rate (整改率) = fixed ÷ (reports − rejected) (None when nothing
is left to fix) and the median reply time in hours (first reply − report; None before any reply).
A year selects the reports filed in that calendar year of the city's time.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select

from portal import clock
from portal.catalogue.models import Dataset, Department
from portal.extensions import db
from portal.feedback.models import FIXED, REJECTED, ErrorReport
from portal.feedback.reports import is_overdue
from portal.regions.models import Region


@dataclass(frozen=True)
class Figures:
    reports: int
    fixed: int
    rejected: int
    overdue: int
    rectification_rate: float | None
    median_reply_hours: float | None


def rectification_rate(reports: int, fixed: int, rejected: int) -> float | None:
    """fixed ÷ (reports − rejected), rounded to 4 places; None when that is 0 ÷ 0."""
    left = reports - rejected
    return round(fixed / left, 4) if left > 0 else None


class Row(NamedTuple):
    """What the figures read of one report (a report itself will do too)."""

    state: str
    created_at: datetime
    due_at: datetime
    replied_at: datetime | None


def figures(rows: list, now: datetime) -> Figures:
    fixed = sum(1 for r in rows if r.state == FIXED)
    rejected = sum(1 for r in rows if r.state == REJECTED)
    hours = [(r.replied_at - r.created_at).total_seconds() / 3600 for r in rows if r.replied_at is not None]
    return Figures(
        reports=len(rows),
        fixed=fixed,
        rejected=rejected,
        overdue=sum(1 for r in rows if is_overdue(r, now)),
        rectification_rate=rectification_rate(len(rows), fixed, rejected),
        median_reply_hours=round(statistics.median(hours), 1) if hours else None,
    )


def summary(*, now: datetime, year: int | None = None) -> dict:
    """Return {"year", "total", "departments": [...], "counties": [...]}: one row per department and county
    that has a dataset, each with its Figures (departments with `organization`, the CKAN name)."""
    query = (
        select(
            ErrorReport.state,
            ErrorReport.created_at,
            ErrorReport.due_at,
            ErrorReport.replied_at,
            Department.id,
            Department.region_id,
        )
        .join(Dataset, Dataset.id == ErrorReport.dataset_id)
        .outerjoin(Department, Department.id == Dataset.department_id)
    )
    if year is not None:
        first, last = clock.year_bounds(year)
        query = query.where(
            ErrorReport.created_at >= clock.day_start(first),
            ErrorReport.created_at < clock.day_start(last + timedelta(days=1)),
        )
    by_department: dict[int, list[Row]] = {}
    by_region: dict[int, list[Row]] = {}
    every: list[Row] = []
    for state, created_at, due_at, replied_at, department_id, region_id in db.session.execute(query):
        report = Row(state, created_at, due_at, replied_at)  # columns only, no ORM objects to build
        every.append(report)
        if department_id is not None:
            by_department.setdefault(department_id, []).append(report)
            by_region.setdefault(region_id, []).append(report)
    departments = db.session.scalars(
        select(Department).where(Department.id.in_(select(Dataset.department_id))).order_by(Department.name)
    )
    regions = db.session.scalars(
        select(Region)
        .where(Region.id.in_(select(Department.region_id)))
        .order_by(Region.position, Region.code)
    )
    return {
        "year": year,
        "total": asdict(figures(every, now)),
        "departments": [
            {"organization": d.name, "title": d.title, **asdict(figures(by_department.get(d.id, []), now))}
            for d in departments
        ],
        "counties": [
            {
                "code": r.code,
                "name": r.name,
                "name_en": r.name_en,
                **asdict(figures(by_region.get(r.id, []), now)),
            }
            for r in regions
        ],
    }
