"""Purging raw activity events once they are older than the retention window and rolled up for good.

Raw events hold hashed visitor and IP ids and each user's steps; the rollups keep only counts and,
per day, which registered users were active. An event is purged only when its whole Shanghai day
is older than the window and that day's rollup is final (made after the day ended), so purging
never changes a figure. Deletes and flushes; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select

from portal import clock
from portal.activity.models import ActivityEvent
from portal.extensions import db
from portal.metrics.models import DailyTotal


@dataclass(frozen=True)
class Purge:
    deleted: int
    before: datetime | None  # events before this moment are gone
    waiting: date | None  # the first old day kept because its rollup is missing or not final


def purge(*, older_than: datetime) -> Purge:
    """Delete the raw events of the days that ended before `older_than` and are rolled up for good."""
    oldest = db.session.scalar(select(func.min(ActivityEvent.occurred_at)))
    if oldest is None:
        return Purge(0, None, None)
    first, last = clock.day_of(oldest), clock.day_of(older_than) - timedelta(days=1)
    final = {
        day
        for day, rolled_up_at in db.session.execute(
            select(DailyTotal.day, DailyTotal.rolled_up_at).where(DailyTotal.day.between(first, last))
        )
        if rolled_up_at >= clock.day_bounds(day)[1]
    }
    through, waiting = None, None
    for day in clock.days(first, last) if first <= last else []:
        if day not in final:
            waiting = day
            break
        through = day
    if through is None:
        return Purge(0, None, waiting)
    before = clock.day_bounds(through)[1]
    statement = delete(ActivityEvent).where(ActivityEvent.occurred_at < before)
    deleted = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    return Purge(deleted, before, waiting)
