"""Quality snapshots: each department's data quality once a day, so the quality board can show trends.

The rollup (metrics/rollup.py) calls `take` after the catalogue snapshot, hourly by default: the day's
rows are replaced, so the last run of a Shanghai day is what the day keeps. A row holds the sums of
catalogue/quality.py's Tally, and a trend adds them up per day (the city, or one region), then makes the
same figures the live board shows (`Tally.figures`). Adds and flushes; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select

from portal.catalogue import quality
from portal.catalogue.models import Department
from portal.extensions import db
from portal.metrics.models import QualitySnapshot

_SUMS = ("datasets", "overdue", "broken_resources", "openness_stars", "fields_filled", "fields_expected")


@dataclass(frozen=True)
class Point:
    day: date
    figures: dict  # as quality.Tally.figures gives them


def take(day: date, now: datetime) -> int:
    """Replace `day`'s quality snapshot with the catalogue as it stands; return its number of departments."""
    tallies = quality.tallies(now, cached=False)  # a job: it may read the whole catalogue
    regions = dict(
        db.session.execute(
            select(Department.id, Department.region_id).where(Department.id.in_(list(tallies)))
        ).all()
    )
    statement = delete(QualitySnapshot).where(QualitySnapshot.day == day)
    db.session.execute(statement.execution_options(synchronize_session=False))
    if tallies:
        db.session.execute(
            insert(QualitySnapshot),
            [
                {
                    "day": day,
                    "department_id": dept_id,
                    "region_id": regions[dept_id],
                    "taken_at": now,
                    **{name: getattr(tally, name) for name in _SUMS},
                }
                for dept_id, tally in tallies.items()
            ],
        )
    db.session.flush()
    return len(tallies)


def trend(first: date, last: date, region_id: int | None = None) -> list[Point]:
    """Return a Point per snapshot day from `first` to `last`, oldest first: the city's, or one region's."""
    query = (
        select(QualitySnapshot.day, *(func.sum(getattr(QualitySnapshot, name)) for name in _SUMS))
        .where(QualitySnapshot.day >= first, QualitySnapshot.day <= last)
        .group_by(QualitySnapshot.day)
        .order_by(QualitySnapshot.day)
    )
    if region_id is not None:
        query = query.where(QualitySnapshot.region_id == region_id)
    return [
        Point(day, quality.Tally(*(int(v) for v in sums)).figures())
        for day, *sums in db.session.execute(query)
    ]
