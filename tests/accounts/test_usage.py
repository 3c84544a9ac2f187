"""Behaviour monitoring (issue 15 item 5): daily usage per user and token counted by one atomic upsert,
exact under parallel writers; thresholds raise one alert each; a hard limit suspends the token, which an
admin lifts; alerts, suspensions and lifts are audited, and the owner is told in the site and by email."""

from __future__ import annotations

import email
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from email import policy
from pathlib import Path

import pytest
from factories import make_user
from sqlalchemy import select

from portal.accounts import tokens, usage
from portal.accounts.models import ApiToken
from portal.accounts.usage import HARD, SOFT, Limits, Tally, UsageAlert, UsageDay
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.notices.models import Notification

DAY = date(2026, 3, 2)
LIMITS = Limits(soft=Tally(downloads=3, rows=1000), hard=Tally(downloads=5, rows=5000))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_add_returns_the_days_totals_and_keeps_tokens_apart(app):
    user = make_user()
    token, _ = tokens.create_token(user, "脚本")
    assert usage.add(db.session, DAY, user.id, token.id, Tally(row_calls=1, rows=100)) == Tally(0, 1, 100, 0)
    assert usage.add(db.session, DAY, user.id, token.id, Tally(row_calls=1, rows=50)) == Tally(0, 2, 150, 0)
    assert usage.add(db.session, DAY, user.id, usage.NO_TOKEN, Tally(downloads=1, bytes=9)) == Tally(
        1, 0, 0, 9
    )
    assert usage.add(db.session, date(2026, 3, 3), user.id, token.id, Tally(rows=1)) == Tally(rows=1)
    db.session.commit()
    assert usage.of_user(user.id, DAY) == {token.id: Tally(0, 2, 150, 0), usage.NO_TOKEN: Tally(1, 0, 0, 9)}


def test_parallel_writers_lose_no_count(app):
    """Eight threads, each with its own session and transactions, add to the same row at once."""
    user = make_user()
    token, _ = tokens.create_token(user, "并发")
    db.session.commit()
    user_id, token_id = user.id, token.id

    def work(_: int) -> None:
        with app.app_context():
            for _ in range(25):
                usage.add(db.session, DAY, user_id, token_id, Tally(row_calls=1, rows=7))
                db.session.commit()
            db.session.remove()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    db.session.expire_all()
    row = db.session.get(UsageDay, (DAY, user_id, token_id))
    assert (row.row_calls, row.rows) == (200, 1400)


def test_crossings_are_strict_and_per_level():
    before, after = Tally(downloads=2, rows=900), Tally(downloads=3, rows=5000)
    found = usage.crossings(before, after, LIMITS)
    assert {(c.metric, c.level) for c in found} == {("downloads", SOFT), ("rows", SOFT), ("rows", HARD)}
    assert usage.crossings(after, after + Tally(downloads=1), LIMITS) == []  # already past: no second alert
    assert usage.crossings(Tally(), Tally(bytes=10**12), LIMITS) == []  # 0 means no threshold


def test_limits_read_the_settings_and_treat_zero_as_off(app):
    limits = Limits.from_config({"USAGE_ALERT_ROWS": 10, "USAGE_LIMIT_DOWNLOADS": 0})
    assert limits.soft == Tally(rows=10) and limits.hard == Tally()
    defaults = Limits.from_config(app.config)
    assert all(getattr(defaults.soft, m) < getattr(defaults.hard, m) for m in usage.METRICS)


def test_a_soft_threshold_raises_one_alert_audited(app):
    user = make_user()
    for _ in range(4):
        usage.record(db.session, DAY, user, None, Tally(downloads=1), LIMITS)
    db.session.commit()
    (alert,) = db.session.scalars(select(UsageAlert)).all()
    assert (alert.metric, alert.level, alert.value, alert.threshold, alert.token_id) == (
        "downloads",
        SOFT,
        3,
        3,
        0,
    )
    assert audit_actions() == ["usage.alert"]


def test_a_hard_limit_suspends_the_token_tells_its_owner_and_a_lift_is_audited(app):
    user, office = make_user(), make_user("admin")
    token, plain = tokens.create_token(user, "爬虫")
    db.session.commit()
    found = usage.record(db.session, DAY, user, token, Tally(row_calls=1, rows=6000), LIMITS)
    db.session.commit()
    assert {(c.metric, c.level) for c in found} == {("rows", SOFT), ("rows", HARD)}
    db.session.expire_all()
    token = db.session.get(ApiToken, token.id)
    assert token.is_suspended and "6000 rows returned today (limit 5000)" in token.suspension_reason
    assert tokens.authenticate(plain) is None and tokens.lookup(plain).id == token.id
    (notice,) = db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    assert notice.kind == usage.TOKEN_SUSPENDED and notice.reason == token.suspension_reason
    assert audit_actions()[-1] == "token.suspended"

    assert usage.notify_suspension(token) == 1
    (sent,) = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in Path(app.instance_path, "mail").glob("*.eml")
    ]
    assert sent["To"] == user.email and token.prefix in sent.get_body().get_content()

    usage.lift(db.session, token, office, "已核实为正常科研使用")
    db.session.commit()
    assert not token.is_suspended and tokens.authenticate(plain).id == user.id
    told = db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)).all()
    assert sorted(told) == [usage.TOKEN_REINSTATED, usage.TOKEN_SUSPENDED]
    lifted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "token.suspension_lifted")
    ).one()
    assert lifted.actor_id == office.id and lifted.before["reason"].startswith(
        "Daily limit of this token reached"
    )
    with pytest.raises(usage.UsageError):
        usage.lift(db.session, token, office)

    # the same day, counts are already past the limit: a lifted token is not suspended again
    usage.record(db.session, DAY, user, token, Tally(rows=10), LIMITS)
    assert not token.is_suspended


def test_usage_without_a_token_alerts_but_suspends_nothing(app):
    user = make_user()
    token, _ = tokens.create_token(user, "未使用")
    usage.record(db.session, DAY, user, None, Tally(downloads=9), LIMITS)
    db.session.commit()
    levels = set(db.session.scalars(select(UsageAlert.level)))
    assert levels == {SOFT, HARD} and not db.session.get(ApiToken, token.id).is_suspended


def test_top_users_sum_their_tokens(app):
    heavy, light = make_user(), make_user()
    first, _ = tokens.create_token(heavy, "一")
    second, _ = tokens.create_token(heavy, "二")
    usage.add(db.session, DAY, heavy.id, first.id, Tally(row_calls=2, rows=300))
    usage.add(db.session, DAY, heavy.id, second.id, Tally(row_calls=1, rows=200))
    usage.add(db.session, DAY, light.id, 0, Tally(downloads=1, bytes=10))
    db.session.commit()
    top = db.session.execute(usage.top_users(DAY)).all()
    assert [(row[0].id, row.row_calls, row.rows) for row in top] == [(heavy.id, 3, 500), (light.id, 0, 0)]
    ranked = [token.id for _, token, _ in db.session.execute(usage.top_tokens(DAY)).all()]
    assert ranked == [first.id, second.id]


def test_a_users_tokens_together_reach_the_hard_limit_and_all_of_them_are_suspended(app):
    user, other = make_user(), make_user()
    mine = [tokens.create_token(user, name)[0] for name in ("一", "二", "三")]
    revoked, _ = tokens.create_token(user, "已撤销")
    tokens.revoke(revoked, user)
    theirs, _ = tokens.create_token(other, "别人的")
    db.session.commit()
    found = [usage.record(db.session, DAY, user, t, Tally(downloads=2), LIMITS) for t in mine]
    usage.record(db.session, DAY, other, theirs, Tally(downloads=2), LIMITS)
    db.session.commit()
    # 2 then 4 (past the soft 3) then 6 (past the hard 5): no single token reached either
    assert [[(c.metric, c.level, c.together) for c in f] for f in found] == [
        [],
        [("downloads", SOFT, True)],
        [("downloads", HARD, True)],
    ]
    db.session.expire_all()
    for token in mine:
        token = db.session.get(ApiToken, token.id)
        assert token.is_suspended
        assert token.suspension_reason == (
            "Daily limit of all your tokens together reached: 6 downloads today (limit 5)."
        )
    assert not db.session.get(ApiToken, revoked.id).is_suspended
    assert not db.session.get(ApiToken, theirs.id).is_suspended
    alerts = db.session.scalars(select(UsageAlert).where(UsageAlert.user_id == user.id)).all()
    assert {(a.level, a.token_id, a.together) for a in alerts} == {
        (SOFT, usage.ALL_TOKENS, True),
        (HARD, usage.ALL_TOKENS, True),
    }
    told = db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)).all()
    assert told == [usage.TOKEN_SUSPENDED] * 3
    # the per-token view keeps each token apart; the users' view counts each download once
    assert usage.of_user(user.id, DAY) == {t.id: Tally(downloads=2) for t in mine}
    top = {row[0].id: row.downloads for row in db.session.execute(usage.top_users(DAY))}
    assert top == {user.id: 6, other.id: 2}


def test_one_token_past_a_limit_is_one_alert_not_two(app):
    user = make_user()
    token, _ = tokens.create_token(user, "唯一")
    db.session.commit()
    usage.record(db.session, DAY, user, token, Tally(downloads=5), LIMITS)
    db.session.commit()
    alerts = db.session.scalars(select(UsageAlert).order_by(UsageAlert.level)).all()
    assert [(a.level, a.token_id) for a in alerts] == [(HARD, token.id), (SOFT, token.id)]
    assert db.session.get(ApiToken, token.id).suspension_reason.startswith("Daily limit of this token")
