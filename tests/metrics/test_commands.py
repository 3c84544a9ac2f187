"""`flask metrics rollup` and `flask metrics purge-events`, and the demo activity."""

from __future__ import annotations

from datetime import timedelta

from catalogue_factories import make_dataset, make_department
from metrics_factories import event
from sqlalchemy import func, select

from portal import clock, seeding
from portal.activity.models import ActivityEvent
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.metrics import demo, rollup
from portal.metrics.models import CatalogueSnapshot, DailyActivity, DailyTotal


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_rollup_command_rolls_up_to_today_and_says_what_it_did(runner):
    event("page_view", utcnow() - timedelta(days=2), visitor="v1")
    event("page_view", utcnow(), visitor="v1", bot=True)
    result = runner.invoke(args=["metrics", "rollup"])
    assert result.exit_code == 0, result.output
    assert "Rolled up 3 day(s)" in result.output and "1 bot event(s) left out" in result.output
    assert rollup.watermark() == clock.day_of(utcnow())
    assert count(CatalogueSnapshot) >= 0 and count(DailyTotal) == 3


def test_rollup_command_run_twice_changes_nothing(runner):
    make_dataset(department=make_department(), resources=[{"records": 3, "fields": 4}])
    event("download", utcnow() - timedelta(days=1), visitor="v1")
    db.session.commit()
    runner.invoke(args=["metrics", "rollup"])
    first = sorted(tuple(r) for r in db.session.execute(select(DailyActivity.__table__)))
    result = runner.invoke(
        args=["metrics", "rollup", "--since", str(clock.day_of(utcnow()) - timedelta(days=1))]
    )
    assert result.exit_code == 0
    assert sorted(tuple(r) for r in db.session.execute(select(DailyActivity.__table__))) == first


def test_rollup_command_refuses_a_malformed_day(runner):
    result = runner.invoke(args=["metrics", "rollup", "--since", "2025-13-01"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_purge_command_keeps_the_configured_number_of_days(make_app):
    app = make_app(EVENT_RETENTION_DAYS=30)
    with app.app_context():
        seeding.load_regions()
        event("page_view", utcnow() - timedelta(days=45), visitor="v1")
        event("page_view", utcnow() - timedelta(days=10), visitor="v1")
        rollup.roll_up(now=utcnow())
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["metrics", "purge-events"])
        assert result.exit_code == 0, result.output
        assert "Purged 1 raw event(s) older than 30 day(s)" in result.output
        # this test's own events: the database is the worker's, where an app of an earlier test that emptied
        # nothing may have left some of its recent ones (seen once under xdist on PostgreSQL)
        own = select(func.count()).select_from(ActivityEvent).where(ActivityEvent.visitor_hash == "v1" * 16)
        assert db.session.scalar(own) == 1
        db.session.execute(ActivityEvent.__table__.delete())
        db.session.execute(DailyTotal.__table__.delete())
        db.session.commit()


def test_purge_command_takes_the_days_on_the_command_line(runner):
    event("page_view", utcnow() - timedelta(days=5), visitor="v1")
    runner.invoke(args=["metrics", "rollup"])
    result = runner.invoke(args=["metrics", "purge-events", "--days", "2"])
    assert "Purged 1 raw event(s) older than 2 day(s)" in result.output


def test_demo_activity_is_added_once_and_rolled_up(app):
    seeding.create_demo_accounts()
    department = make_department(region_code="330411")
    for title in ("秀洲区公交站点", "秀洲区停车场"):
        make_dataset(title=title, department=department, resources=[{"records": 10, "fields": 3}])
    added = demo.seed_demo_activity(days=14)
    db.session.commit()
    assert added == count(ActivityEvent) > 100
    assert demo.seed_demo_activity(days=14) == 0
    assert count(DailyTotal) == 15 and rollup.watermark() == clock.day_of(utcnow())
    kinds = set(db.session.scalars(select(ActivityEvent.kind).distinct()))
    assert {"page_view", "dataset_view", "download", "api_call", "sign_in"} <= kinds
    assert db.session.scalar(select(func.sum(DailyTotal.bot_events))) > 0
    assert db.session.scalar(select(func.max(ActivityEvent.occurred_at))) <= utcnow()
