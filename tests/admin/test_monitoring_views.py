"""The office's behaviour monitoring page (issue 15 item 5): admins only; one day's alerts, top users and
tokens, the suspended tokens and the lift (audited); a bad day answers 400, never 500."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import make_user
from sqlalchemy import func, select

from portal import clock
from portal.accounts import tokens, usage
from portal.accounts.models import ApiToken
from portal.accounts.usage import Limits, Tally
from portal.audit.models import AuditEvent
from portal.extensions import db

LIMITS = Limits(soft=Tally(rows=100), hard=Tally(rows=1000))


@pytest.fixture
def watched(app):
    """A developer whose token went past the hard limit today, and one who used a little yesterday."""
    heavy, light = make_user(email="heavy@example.cn"), make_user(email="light@example.cn")
    token, _ = tokens.create_token(heavy, "批量抓取")
    db.session.commit()
    usage.record(db.session, clock.today(), heavy, token, Tally(row_calls=3, rows=1500), LIMITS)
    usage.record(db.session, clock.today() - timedelta(days=1), light, None, Tally(downloads=1), LIMITS)
    db.session.commit()
    return token


@pytest.mark.parametrize(
    "role, status", [(None, 302), ("developer", 403), ("judge", 403), ("county_member", 403), ("admin", 200)]
)
def test_only_admins_see_the_page(client, login, watched, role, status):
    if role:
        login(role)
    assert client.get("/admin/monitoring/").status_code == status


@pytest.mark.parametrize(
    "role, status", [(None, 302), ("developer", 403), ("judge", 403), ("county_member", 403)]
)
def test_only_admins_lift_a_suspension(client, login, watched, role, status):
    if role:
        login(role)
    assert client.post(f"/admin/monitoring/tokens/{watched.id}/lift").status_code == status
    db.session.expire_all()
    assert db.session.get(ApiToken, watched.id).is_suspended


def test_todays_alerts_users_tokens_and_suspensions(client, login, watched):
    login("admin")
    page = client.get("/admin/monitoring/").get_data(as_text=True)
    assert page.count("data-alert=") == 2  # the soft and the hard threshold of rows
    assert f'data-suspended="{watched.id}"' in page and "1500 rows returned today (limit 1000)" in page
    assert f'data-token="{watched.id}"' in page and "heavy@example.cn" in page
    assert "light@example.cn" not in page  # yesterday's
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    earlier = client.get("/admin/monitoring/", query_string={"day": yesterday}).get_data(as_text=True)
    assert "light@example.cn" in earlier and earlier.count("data-alert=") == 0
    assert f'data-suspended="{watched.id}"' in earlier  # suspensions show whatever the day


def test_an_alert_of_a_users_tokens_together_says_so(client, login, app):
    user = make_user(email="many@example.cn")
    first, second = (tokens.create_token(user, name)[0] for name in ("甲", "乙"))
    db.session.commit()
    for token in (first, second):  # 600 each: only the two together pass the hard limit of 1000
        usage.record(db.session, clock.today(), user, token, Tally(rows=600), LIMITS)
    db.session.commit()
    login("admin", email="office@example.cn")
    client.set_cookie("lang", "en")
    page = client.get("/admin/monitoring/").get_data(as_text=True)
    rows = re.findall(r'<tr data-alert="\d+">.*?</tr>', page, re.S)
    # each token crossed the alert threshold itself; only the two together crossed the hard limit
    assert ["all tokens together" in row for row in rows] == [True, False, False]
    assert "of all your tokens together reached: 1200 rows returned today (limit 1000)" in page


@pytest.mark.parametrize(
    "day", ["yesterday", "2026-13-01", "2026-02-30", "0000-01-01", "1999-12-31", "9999-12-31", "2026-1-1",
            "x" * 5000, "２０２６-０１-０１", "2026-01-01\x00"]
)  # fmt: skip
def test_a_bad_day_is_a_400_page(client, login, watched, day):
    login("admin")
    response = client.get("/admin/monitoring/", query_string={"day": day})
    assert response.status_code == 400 and "flash error" in response.get_data(as_text=True)


def test_an_admin_lifts_a_suspension_audited(client, login, watched):
    office = login("admin")
    response = client.post(f"/admin/monitoring/tokens/{watched.id}/lift", data={"note": "已电话核实"})
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(ApiToken, watched.id).is_suspended
    lifted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "token.suspension_lifted")
    ).one()
    assert (lifted.actor_id, lifted.after["note"]) == (office.id, "已电话核实")
    again = client.post(f"/admin/monitoring/tokens/{watched.id}/lift", follow_redirects=True)
    assert again.status_code == 200 and 'class="flash flash-error"' in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "token.suspension_lifted")) == 1
    assert client.post("/admin/monitoring/tokens/999999/lift").status_code == 404


@pytest.mark.parametrize("note", ["已\x00核实", "\x00" + "x" * 5000])
def test_a_note_holding_a_nul_is_refused_not_a_server_error(app, login, watched, note):
    """PostgreSQL keeps no NUL in text nor \\u0000 in JSON: the lift is refused, the token still suspended
    (the site refuses the form before the view; the domain refuses the note from any other caller)."""
    office = login("admin")
    with pytest.raises(usage.UsageError):
        usage.lift(db.session, watched, office, note)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(ApiToken, watched.id).is_suspended
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "token.suspension_lifted")) == 0


def test_the_work_queue_counts_alerts_and_suspended_tokens(client, login, watched):
    login("admin")
    page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-task="usage_alerts">\s*<a[^>]*><span class="queue-count" data-count="2">', page)
    assert re.search(
        r'data-task="suspended_tokens">\s*<a[^>]*><span class="queue-count" data-count="1">', page
    )
