"""Quality snapshots (issue 17 item 4): the rollup takes one per department a day, a second run replaces the
day's rows, and a trend adds the departments up per day (the city, or one county) into the board's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from catalogue_factories import make_dataset, make_department
from sqlalchemy import func, select

from portal import clock
from portal.catalogue import quality
from portal.catalogue.quality import LinkCheck
from portal.extensions import db
from portal.metrics import quality_trends, rollup
from portal.metrics.models import QualitySnapshot
from portal.regions.models import Region

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
TODAY = date(2026, 12, 6)  # NOW in Shanghai


def _catalogue():
    nanhu = make_department(name="nh-transport", region_code="330402")
    xiuzhou = make_department(name="xz-transport", region_code="330411")
    late = make_dataset(
        department=nanhu, modified=NOW - timedelta(days=40), extras={"update_frequency": "每月"}
    )
    make_dataset(department=xiuzhou, modified=NOW, resources=[{"format": "PDF"}, {"format": "XLSX"}])
    db.session.add(LinkCheck(resource_id=late.resources[0].id, checked_at=NOW, status=404, broken=True))
    db.session.flush()
    return nanhu, xiuzhou


def test_the_rollup_takes_todays_quality_snapshot(app):
    _catalogue()
    rollup.roll_up(now=NOW)
    rows = {r.department_id: r for r in db.session.scalars(select(QualitySnapshot))}
    assert len(rows) == 2 and {r.day for r in rows.values()} == {TODAY}
    assert sum(r.overdue for r in rows.values()) == 1
    assert sum(r.broken_resources for r in rows.values()) == 1
    assert {r.fields_expected for r in rows.values()} == {len(quality.COMPLETENESS_FIELDS)}


def test_a_second_snapshot_of_the_day_replaces_the_first(app):
    nanhu, _ = _catalogue()
    quality_trends.take(TODAY, NOW)
    make_dataset(department=nanhu, modified=NOW)
    assert quality_trends.take(TODAY, NOW) == 2
    count = db.session.scalar(select(func.count()).select_from(QualitySnapshot))
    assert count == 2
    [point] = quality_trends.trend(TODAY, TODAY)
    assert point.figures["datasets"] == 3


def test_a_trend_adds_up_the_departments_of_the_city_or_of_one_county(app):
    _catalogue()
    quality_trends.take(TODAY - timedelta(days=1), NOW)
    db.session.execute(db.delete(LinkCheck))
    quality_trends.take(TODAY, NOW)
    city = quality_trends.trend(TODAY - timedelta(days=6), TODAY)
    assert [p.day for p in city] == [TODAY - timedelta(days=1), TODAY]
    assert [p.figures["broken_resources"] for p in city] == [1, 0]
    assert city[-1].figures == quality.summary(NOW)["total"]  # the same figures as the live board
    xiuzhou = db.session.scalar(select(Region.id).where(Region.code == "330411"))
    [_, today] = quality_trends.trend(TODAY - timedelta(days=6), TODAY, xiuzhou)
    assert today.figures["datasets"] == 1 and today.figures["mean_openness_stars"] == 2.0
    assert quality_trends.trend(TODAY + timedelta(days=1), TODAY + timedelta(days=5)) == []


def test_the_board_days_follow_the_city_clock(app):
    _catalogue()
    late_evening = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 01:00 on 7 December in Jiaxing
    rollup.roll_up(now=late_evening)
    assert db.session.scalar(select(func.max(QualitySnapshot.day))) == clock.day_of(late_evening)
    assert clock.day_of(late_evening) == date(2026, 12, 7)


def test_the_demo_fills_the_missing_days_of_the_trend_at_each_days_end(app):
    """The demo's month of snapshots: a monthly dataset last updated 40 days before NOW falls overdue 9 days
    before it, so the trend's line rises then; a day already taken is kept, and a second run adds nothing."""
    from portal.metrics.demo import seed_demo_quality_trend

    _catalogue()
    quality_trends.take(TODAY, NOW)  # the rollup's own snapshot of today stays
    assert seed_demo_quality_trend(30, now=NOW) == 29
    db.session.commit()
    points = quality_trends.trend(TODAY - timedelta(days=29), TODAY)
    assert [p.day for p in points] == [TODAY - timedelta(days=29 - n) for n in range(30)]
    overdue = {p.day: p.figures["overdue"] for p in points}
    due = clock.day_of(NOW - timedelta(days=9))  # 40 − 31 days ago, mid-day in Jiaxing
    assert overdue[due - timedelta(days=1)] == 0 and overdue[due] == 1 and overdue[TODAY] == 1
    assert {p.figures["broken_resources"] for p in points} == {1}
    assert seed_demo_quality_trend(30, now=NOW) == 0
