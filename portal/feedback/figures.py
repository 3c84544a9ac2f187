"""Figures on error reports per department and per county, for /stats/, the scorecard and the API.

For a set of reports: reports, fixed, rejected, overdue (not replied to by the due moment, see
`reports.is_overdue`), the rectification rate (整改率) = fixed ÷ (reports − rejected) (None when nothing
is left to fix) and the median reply time in hours (first reply − report; None before any reply).
A year selects the reports filed in that calendar year of the city's time.

Beside them, per department and county (issue 17 item 5): `overdue_datasets`, the published datasets overdue
for an update now (`catalogue/quality.py`, the quality board's `overdue`: the same tallies), and the data
requests naming the department (`requests`, asked in the year) of which `requests_answered` have an answer
(planned, published or declined). The total counts every request, those naming no department too.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select

from portal import clock
from portal.catalogue import quality
from portal.catalogue.models import Dataset, Department
from portal.extensions import db
from portal.feedback.models import FIXED, OPEN, REJECTED, DataRequest, ErrorReport
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
    that has a dataset, each with its Figures (departments with `organization`, the CKAN name), its
    `overdue_datasets`, `requests` and `requests_answered`."""
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
    asked = select(DataRequest.status, Department.id, Department.region_id).outerjoin(
        Department, Department.id == DataRequest.department_id
    )
    if year is not None:
        first, last = clock.year_bounds(year)
        start, end = clock.day_start(first), clock.day_start(last + timedelta(days=1))
        query = query.where(ErrorReport.created_at >= start, ErrorReport.created_at < end)
        asked = asked.where(DataRequest.created_at >= start, DataRequest.created_at < end)
    by_department: dict[int, list[Row]] = {}
    by_region: dict[int, list[Row]] = {}
    every: list[Row] = []
    for state, created_at, due_at, replied_at, department_id, region_id in db.session.execute(query):
        report = Row(state, created_at, due_at, replied_at)  # columns only, no ORM objects to build
        every.append(report)
        if department_id is not None:
            by_department.setdefault(department_id, []).append(report)
            by_region.setdefault(region_id, []).append(report)
    requests = _requests(db.session.execute(asked))
    overdue = {dept_id: tally.overdue for dept_id, tally in quality.tallies(now).items()}
    departments = list(
        db.session.scalars(
            select(Department)
            .where(Department.id.in_(select(Dataset.department_id)))
            .order_by(Department.name)
        )
    )
    overdue_in: dict[int, int] = {}
    for d in departments:
        overdue_in[d.region_id] = overdue_in.get(d.region_id, 0) + overdue.get(d.id, 0)
    regions = db.session.scalars(
        select(Region)
        .where(Region.id.in_(select(Department.region_id)))
        .order_by(Region.position, Region.code)
    )
    return {
        "year": year,
        "total": {
            **asdict(figures(every, now)),
            "overdue_datasets": sum(overdue.values()),
            **requests.get("total", _NO_REQUESTS),
        },
        "departments": [
            {
                "organization": d.name,
                "title": d.title,
                **asdict(figures(by_department.get(d.id, []), now)),
                "overdue_datasets": overdue.get(d.id, 0),
                **requests.get(("department", d.id), _NO_REQUESTS),
            }
            for d in departments
        ],
        "counties": [
            {
                "code": r.code,
                "name": r.name,
                "name_en": r.name_en,
                **asdict(figures(by_region.get(r.id, []), now)),
                "overdue_datasets": overdue_in.get(r.id, 0),
                **requests.get(("region", r.id), _NO_REQUESTS),
            }
            for r in regions
        ],
    }


_NO_REQUESTS = {"requests": 0, "requests_answered": 0}


def _requests(rows) -> dict:
    """Count (status, department id, region id) rows of data requests: {"requests", "requests_answered"}
    under "total", ("department", id) and ("region", id)."""
    counts: dict = {}
    for status, department_id, region_id in rows:
        keys = ["total"]
        if department_id is not None:
            keys += [("department", department_id), ("region", region_id)]
        for key in keys:
            row = counts.setdefault(key, dict(_NO_REQUESTS))
            row["requests"] += 1
            row["requests_answered"] += status != OPEN
    return counts
