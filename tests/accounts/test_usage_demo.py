"""The demo's behaviour monitoring: the demo developer's tokens, a week of use, an alert and a suspension,
made once through the domain code (issue 15 item 5)."""

from __future__ import annotations

from sqlalchemy import select

from portal import clock, seeding
from portal.accounts import usage
from portal.accounts.models import ApiToken
from portal.accounts.usage import UsageAlert, UsageDay
from portal.accounts.usage_demo import CRAWLER, EXPORTER, STEADY, seed_demo_usage
from portal.extensions import db


def test_the_demo_shows_use_an_alert_and_a_suspension_once(app):
    seeding.create_demo_accounts()
    db.session.commit()
    assert seed_demo_usage() == 7
    db.session.commit()
    by_name = {t.name: t for t in db.session.scalars(select(ApiToken))}
    assert set(by_name) == {STEADY, EXPORTER, CRAWLER}
    assert by_name[CRAWLER].is_suspended and not by_name[STEADY].is_suspended
    today = set(db.session.execute(select(UsageAlert.token_id, UsageAlert.metric, UsageAlert.level)))
    assert (by_name[EXPORTER].id, "rows", usage.SOFT) in today
    assert (by_name[CRAWLER].id, "downloads", usage.HARD) in today
    days = set(db.session.scalars(select(UsageDay.day)))
    assert len(days) == 7 and clock.today() in days
    assert seed_demo_usage() == 0  # a second run adds nothing
