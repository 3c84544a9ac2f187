"""The daily rollup: Shanghai days, bots left out, county attribution, exact MAU, idempotent, incremental."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import make_user, region
from metrics_factories import FIRST_DAY, LAST_DAY, NOW, event, shanghai
from sqlalchemy import func, select

from portal.activity.models import ActivityEvent
from portal.extensions import db
from portal.metrics import retention, rollup
from portal.metrics.models import (
    ActiveUserCount,
    CatalogueSnapshot,
    DailyActiveUser,
    DailyActivity,
    DailyTotal,
    ThemeSnapshot,
)
from portal.regions.models import Region


def activity(day: date) -> dict[tuple[str, str], int]:
    """Return (region code, kind) → events of `day`."""
    rows = db.session.execute(
        select(DailyActivity.region_id, DailyActivity.kind, DailyActivity.events).where(
            DailyActivity.day == day
        )
    )
    codes = {r.id: r.code for r in db.session.scalars(select(Region))}
    return {(codes[r], kind): n for r, kind, n in rows}


def active(period: str, start: date) -> dict[str, int]:
    rows = db.session.execute(
        select(ActiveUserCount.region_id, ActiveUserCount.users).where(
            ActiveUserCount.period == period, ActiveUserCount.start == start
        )
    )
    codes = {r.id: r.code for r in db.session.scalars(select(Region))}
    return {codes[r]: n for r, n in rows}


def everything() -> dict[str, list[tuple]]:
    """Every rollup row (without the time it was made), to compare two runs."""
    models = (DailyActivity, DailyActiveUser, ActiveUserCount, DailyTotal, CatalogueSnapshot, ThemeSnapshot)
    found = {}
    for model in models:
        columns = [c for c in model.__table__.columns if c.name not in ("rolled_up_at", "taken_at")]
        found[model.__tablename__] = sorted(tuple(r) for r in db.session.execute(select(*columns)))
    return found


def test_an_event_at_23_59_59_in_shanghai_belongs_to_that_day(city):
    assert activity(date(2025, 2, 28)) == {("330402", "download"): 1}


def test_an_event_at_midnight_in_shanghai_belongs_to_the_new_day(city):
    assert activity(date(2025, 3, 1))[("330400", "page_view")] == 1


def test_downloads_and_api_calls_go_to_the_county_of_the_datasets_department(city):
    day = activity(date(2025, 3, 1))
    assert day[("330402", "download")] == 1  # the bot's download of d1 is left out
    assert day[("330411", "download")] == 1
    assert day[("330400", "dataset_view")] == 1  # d5 belongs to a city department


def test_bots_are_left_out_but_api_calls_with_a_token_count(city):
    day = activity(date(2025, 3, 1))
    assert day[("330402", "api_call")] == 1  # the developer's script; the anonymous bot is not counted
    total = db.session.get(DailyTotal, date(2025, 3, 1))
    assert (total.events, total.bot_events) == (5, 2)


def test_anonymous_visitors_are_counted_once_a_day_by_their_hashed_id(city):
    assert db.session.get(DailyTotal, date(2025, 3, 1)).visitors == 2  # v1 twice, v2; not the bot v3


def test_daily_active_users_count_registered_users_per_county_and_for_the_city(city):
    assert active("day", date(2025, 3, 1)) == {"330400": 2, "330402": 1}  # A and the developer
    assert active("day", date(2025, 3, 2)) == {"330400": 3, "330402": 1, "330411": 1}


def test_monthly_active_users_count_each_user_once_however_many_days(city):
    assert active("month", date(2025, 3, 1)) == {"330400": 3, "330402": 1, "330411": 1}
    assert sum(active("day", date(2025, 3, d))["330400"] for d in (1, 2)) == 5  # DAU adds up to more


def test_a_quiet_day_is_rolled_up_too_and_the_watermark_is_the_last_day(city):
    assert db.session.get(DailyTotal, date(2025, 6, 1)).events == 0
    assert db.session.scalar(select(func.count()).select_from(DailyTotal)) == (LAST_DAY - FIRST_DAY).days + 1
    assert rollup.watermark() == LAST_DAY


def test_rolling_up_twice_gives_the_same_figures(city):
    before = everything()
    result = rollup.roll_up(now=NOW, since=FIRST_DAY)
    db.session.commit()
    assert everything() == before and result.days == (LAST_DAY - FIRST_DAY).days + 1


def test_an_incremental_run_completes_the_watermark_day_and_adds_the_next(city):
    event("download", shanghai(2025, 11, 20, 18), visitor="v9", dataset=city.d1)  # after the first run
    event("download", shanghai(2025, 11, 21, 9), visitor="v9", dataset=city.d1)
    result = rollup.roll_up(now=NOW + timedelta(days=1))
    assert (result.first, result.last) == (LAST_DAY, LAST_DAY + timedelta(days=1))
    assert activity(LAST_DAY) == {("330402", "download"): 1}
    assert activity(LAST_DAY + timedelta(days=1)) == {("330402", "download"): 1}


def test_the_rollup_never_rolls_up_days_after_today(city):
    result = rollup.roll_up(now=NOW, since=LAST_DAY, until=LAST_DAY + timedelta(days=5))
    assert (result.first, result.last) == (LAST_DAY, LAST_DAY)


def test_the_catalogue_snapshot_counts_published_datasets_and_measured_volume_per_region(city):
    rows = {
        region_id: (datasets, resources, measured, volume)
        for region_id, datasets, resources, measured, volume in db.session.execute(
            select(CatalogueSnapshot.region_id, CatalogueSnapshot.datasets, CatalogueSnapshot.resources,
                   CatalogueSnapshot.measured_datasets, CatalogueSnapshot.volume)
        )
    }  # fmt: skip
    assert rows == {
        region("330402").id: (2, 4, 1, 530),
        region("330411").id: (1, 2, 1, 800),
        region("330400").id: (1, 1, 1, 2000),
    }


def test_the_rollup_needs_the_city(app):
    db.session.execute(db.delete(Region).where(Region.level == "city"))
    with pytest.raises(rollup.RollupError):
        rollup.roll_up(now=NOW)


def test_purge_deletes_old_events_of_days_rolled_up_for_good(city):
    result = retention.purge(older_than=datetime(2025, 3, 2, 0, 0, tzinfo=UTC))  # Shanghai 08:00 on 2 March
    assert result.deleted == 8  # 28 February and 1 March; not 2 March, which has not ended by then
    assert db.session.scalar(select(func.min(ActivityEvent.occurred_at))) == shanghai(2025, 3, 2, 9)
    assert activity(date(2025, 3, 1))[("330402", "download")] == 1  # the rollups stay


def test_rolling_up_again_after_a_purge_keeps_the_figures_of_purged_days(city):
    before = activity(date(2025, 3, 1))
    retention.purge(older_than=datetime(2025, 3, 2, 0, 0, tzinfo=UTC))
    result = rollup.roll_up(now=NOW, since=FIRST_DAY)
    assert result.first == date(2025, 3, 2)
    assert activity(date(2025, 3, 1)) == before


def test_purge_keeps_the_events_of_a_day_rolled_up_before_it_ended(app):
    make_user(email="a@example.cn")
    event("page_view", shanghai(2025, 3, 1, 9), visitor="v1")
    event("page_view", shanghai(2025, 3, 2, 9), visitor="v1")
    rollup.roll_up(now=shanghai(2025, 3, 2, 10))  # 2 March is still going on
    result = retention.purge(older_than=shanghai(2025, 6, 1))
    assert (result.deleted, result.waiting) == (1, date(2025, 3, 2))
    assert db.session.scalar(select(func.count()).select_from(ActivityEvent)) == 1


def test_purge_keeps_events_of_days_never_rolled_up(app):
    event("page_view", shanghai(2025, 3, 1, 9), visitor="v1")
    result = retention.purge(older_than=shanghai(2025, 6, 1))
    assert (result.deleted, result.waiting) == (0, date(2025, 3, 1))
