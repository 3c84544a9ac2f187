"""The daily rollup: each Shanghai day of raw activity events becomes a few small rows.

Rolling up a day replaces everything of that day (deleted, then counted again from the raw
events), so running the rollup twice gives the same figures, and a day rolled up while it was
still going on is completed by the next run. An incremental run starts again at the watermark (the
latest rolled-up day) and goes on to today, then takes today's catalogue and quality snapshots.

Which events count: those of known bots are left out, except API calls made with a developer's
token (scripts are how an API is used, and crawlers carry no token). Adds and flushes; the caller
commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, String, and_, case, delete, func, insert, literal, literal_column, or_, select

from portal import clock
from portal.activity.models import ActivityEvent
from portal.catalogue.models import Dataset, Department
from portal.extensions import db
from portal.metrics import quality_trends, snapshots
from portal.metrics.models import ActiveUserCount, DailyActiveUser, DailyActivity, DailyTotal
from portal.regions.models import Region


class RollupError(Exception):
    """The rollup cannot run; the message says why."""


@dataclass(frozen=True)
class Result:
    first: date | None
    last: date | None
    days: int
    events: int  # counted
    bot_events: int  # left out
    regions_snapshotted: int


def counted():
    """Return the condition under which an event counts in the statistics."""
    return or_(
        ActivityEvent.is_bot.is_(False),
        and_(ActivityEvent.kind == "api_call", ActivityEvent.user_id.is_not(None)),
    )


def city_id() -> int:
    found = db.session.scalar(select(Region.id).where(Region.level == "city"))
    if found is None:
        raise RollupError("the city is not in the regions table; run `flask init` first")
    return found


def watermark() -> date | None:
    """Return the latest rolled-up day, or None before the first rollup."""
    return db.session.scalar(select(func.max(DailyTotal.day)))


def roll_up(*, now: datetime, since: date | None = None, until: date | None = None) -> Result:
    """Roll up the days from `since` to `until`, then snapshot the catalogue as it stands today.

    `since` defaults to the watermark (else the first event's day), `until` to today; days after
    today are never rolled up, and neither are days whose raw events may have been purged (their
    rollups stay as they are). A day without any event gets only its (zero) daily total.
    """
    today = clock.day_of(now)
    until = min(until or today, today)
    since = since or watermark() or _first_event_day() or today
    protected = _purged_through()
    if protected is not None and since <= protected:
        since = protected + timedelta(days=1)
    city = city_id()
    days = clock.days(since, until) if since <= until else []
    _clear(since, until)
    events = bots = 0
    for day in _days_with_events(since, until):
        counted_events, bot_events = _roll_day(day, city, now)
        events, bots = events + counted_events, bots + bot_events
    _add_quiet_days(days, now)
    for month in sorted({clock.month_start(d) for d in days}):
        _count_month(month, city)
    regions = snapshots.take(today, city, now)
    quality_trends.take(today, now)
    db.session.flush()
    return Result(days[0] if days else None, days[-1] if days else None, len(days), events, bots, regions)


def _delete(statement) -> None:
    db.session.execute(statement.execution_options(synchronize_session=False))


def _clear(first: date, last: date) -> None:
    """Delete the rollups of the days from `first` to `last`, to count them again."""
    for model in (DailyActivity, DailyActiveUser, DailyTotal):
        _delete(delete(model).where(model.day.between(first, last)))
    _delete(
        delete(ActiveUserCount).where(
            ActiveUserCount.period == "day", ActiveUserCount.start.between(first, last)
        )
    )


def _purged_through() -> date | None:
    """Return the last day whose raw events may have been purged, or None before the first rollup.

    The purge deletes whole days that are rolled up, oldest first; so every rolled-up day before the
    oldest remaining event may have lost its events, and all of them when no event remains.
    """
    last = watermark()
    if last is None:
        return None
    oldest = _first_event_day()
    return last if oldest is None else min(oldest - timedelta(days=1), last)


def _first_event_day() -> date | None:
    first = db.session.scalar(select(func.min(ActivityEvent.occurred_at)))
    return clock.day_of(first) if first is not None else None


def _days_with_events(first: date, last: date) -> Iterator[date]:
    """Yield the days from `first` to `last` that have events, one index probe per day found."""
    day, end = first, clock.day_start(last + timedelta(days=1))
    while day <= last:
        found = db.session.scalar(
            select(func.min(ActivityEvent.occurred_at)).where(
                ActivityEvent.occurred_at >= clock.day_start(day), ActivityEvent.occurred_at < end
            )
        )
        if found is None:
            return
        day = clock.day_of(found)
        yield day
        day += timedelta(days=1)


def _add_quiet_days(days: list[date], now: datetime) -> None:
    """Give every day of `days` not rolled up yet (it had no event) its zero total."""
    done = (
        set(db.session.scalars(select(DailyTotal.day).where(DailyTotal.day.between(days[0], days[-1]))))
        if days
        else set()
    )
    quiet = [d for d in days if d not in done]
    if quiet:
        db.session.execute(
            insert(DailyTotal),
            [dict(day=d, events=0, bot_events=0, visitors=0, rolled_up_at=now) for d in quiet],
        )


def _roll_day(day: date, city: int, now: datetime) -> tuple[int, int]:
    start, end = clock.day_bounds(day)
    in_day = and_(ActivityEvent.occurred_at >= start, ActivityEvent.occurred_at < end)
    the_day = literal(day, Date)
    # Inlined, so that the SELECT and the GROUP BY are the same expression on PostgreSQL.
    region = func.coalesce(Department.region_id, literal_column(str(int(city))))
    db.session.execute(
        insert(DailyActivity).from_select(
            ["day", "region_id", "kind", "events"],
            select(the_day, region, ActivityEvent.kind, func.count())
            .select_from(ActivityEvent)
            .outerjoin(Dataset, Dataset.id == ActivityEvent.dataset_id)
            .outerjoin(Department, Department.id == Dataset.department_id)
            .where(in_day, counted())
            .group_by(region, ActivityEvent.kind),
        )
    )
    db.session.execute(
        insert(DailyActiveUser).from_select(
            ["day", "user_id", "region_id", "events"],
            select(the_day, ActivityEvent.user_id, func.max(ActivityEvent.region_id), func.count())
            .where(in_day, counted(), ActivityEvent.user_id.is_not(None))
            .group_by(ActivityEvent.user_id),
        )
    )
    _count_active("day", day, day, city)
    return _total(day, in_day, now)


def _total(day: date, in_day, now: datetime) -> tuple[int, int]:
    anonymous = and_(counted(), ActivityEvent.user_id.is_(None))
    events, bots, visitors = db.session.execute(
        select(
            func.coalesce(func.sum(case((counted(), 1), else_=0)), 0),
            func.coalesce(func.sum(case((counted(), 0), else_=1)), 0),
            func.count(func.distinct(case((anonymous, ActivityEvent.visitor_hash)))),
        ).where(in_day)
    ).one()
    db.session.execute(
        insert(DailyTotal).values(
            day=day, events=int(events), bot_events=int(bots), visitors=int(visitors), rolled_up_at=now
        )
    )
    return int(events), int(bots)


def _count_month(month: date, city: int) -> None:
    _delete(delete(ActiveUserCount).where(ActiveUserCount.period == "month", ActiveUserCount.start == month))
    last = clock.next_month(month)
    _count_active("month", month, date.fromordinal(last.toordinal() - 1), city)


def _count_active(period: str, first: date, last: date, city: int) -> None:
    """Count the distinct active users of [first, last]: per county, and for the whole city."""
    in_period = and_(DailyActiveUser.day >= first, DailyActiveUser.day <= last)
    columns = ["period", "start", "region_id", "users"]
    head = (literal(period, String), literal(first, Date))
    users = func.count(func.distinct(DailyActiveUser.user_id))
    in_county = and_(DailyActiveUser.region_id.is_not(None), DailyActiveUser.region_id != city)
    db.session.execute(
        insert(ActiveUserCount).from_select(
            columns,
            select(*head, DailyActiveUser.region_id, users)
            .where(in_period, in_county)
            .group_by(DailyActiveUser.region_id),
        )
    )
    db.session.execute(
        insert(ActiveUserCount).from_select(columns, select(*head, literal(city), users).where(in_period))
    )
