"""Filing for a closed quarter is late (补报): marked on the review page and the board, never meeting the
quota, and refused past the office's grace period."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from application_factories import admin, make_application, team_member

from portal.applications import board, lateness, workflow
from portal.dbtypes import utcnow
from portal.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
Q1_END = datetime(2020, 4, 1, 0, 0, tzinfo=SHANGHAI)  # 2020Q1 ends at midnight in Shanghai
IN_Q1 = datetime(2020, 3, 20, 12, 0, tzinfo=SHANGHAI)
IN_Q2 = datetime(2020, 5, 15, 12, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("filed_at", "late"),
    [
        (None, False),
        (Q1_END - timedelta(seconds=1), False),  # 23:59:59 on 31 March in Shanghai: 15:59:59 UTC
        (Q1_END, True),
        (datetime(2020, 3, 31, 16, 0, tzinfo=UTC), True),  # the same moment written in UTC
        (IN_Q2, True),
    ],
)
def test_a_filing_is_late_from_the_quarters_end_in_shanghai(filed_at, late):
    assert lateness.is_late("2020Q1", filed_at) is late


@pytest.mark.parametrize(
    ("grace", "now", "closed"),
    [
        (None, datetime(2030, 1, 1, tzinfo=UTC), False),  # unset: late filings always accepted
        (0, Q1_END - timedelta(seconds=1), False),
        (0, Q1_END, True),
        (10, Q1_END + timedelta(days=10) - timedelta(seconds=1), False),
        (10, Q1_END + timedelta(days=10), True),
    ],
)
def test_the_grace_period_closes_filing_some_days_after_the_quarter(grace, now, closed):
    assert lateness.is_past_grace("2020Q1", now, grace) is closed


def test_an_on_time_application_meets_the_quota_and_a_late_one_is_counted_apart(app):
    office = admin()
    make_application(code="330402", quarter="2020Q1", status="approved", reviewer=office, now=IN_Q1)
    make_application(code="330411", quarter="2020Q1", status="approved", reviewer=office, now=IN_Q2)
    make_application(code="330421", quarter="2020Q1", status="submitted", now=IN_Q2)
    db.session.commit()
    cells = {
        (r.county.code, c.quarter): c for r in board.quarter_board(2020, now=IN_Q2).rows for c in r.cells
    }
    on_time, late_approved, late_waiting = (
        cells[(code, "2020Q1")] for code in ("330402", "330411", "330421")
    )
    assert (on_time.approved, on_time.late, on_time.state) == (1, 0, "met")
    assert (late_approved.approved, late_approved.late, late_approved.state) == (0, 1, "behind")
    assert (late_waiting.submitted, late_waiting.late, late_waiting.state) == (0, 1, "behind")


def test_a_returned_application_resubmitted_after_the_quarter_keeps_its_first_filing_date(app):
    office = admin()
    application = make_application(
        code="330402", quarter="2020Q1", status="returned", reviewer=office, now=IN_Q1
    )
    workflow.submit(application, by=application.created_by, now=IN_Q2, grace_days=0)
    workflow.approve(application, by=office, now=IN_Q2)
    db.session.commit()
    assert lateness.filed_at(application) == IN_Q1
    assert not lateness.filed_late(application)
    [row] = [r for r in board.quarter_board(2020, now=IN_Q2).rows if r.county.code == "330402"]
    assert row.cells[0].state == "met"


def test_a_first_submission_past_the_grace_period_is_refused(app):
    application = make_application(code="330402", quarter="2020Q1", status="draft", now=IN_Q1)
    with pytest.raises(workflow.FilingClosed, match="2020Q1"):
        workflow.submit(application, by=application.created_by, now=Q1_END + timedelta(days=8), grace_days=7)
    assert application.status == "draft"


def test_a_first_submission_within_the_grace_period_is_accepted_and_late(app):
    application = make_application(code="330402", quarter="2020Q1", status="draft", now=IN_Q1)
    assert workflow.submit(
        application, by=application.created_by, now=Q1_END + timedelta(days=6), grace_days=7
    )
    assert application.status == "submitted" and lateness.filed_late(application)


def test_registering_and_submitting_at_once_past_grace_leaves_nothing(app):
    with pytest.raises(workflow.FilingClosed):
        make_application(code="330402", quarter="2020Q1", status="submitted", now=IN_Q2, grace_days=0)


def backfilled(now=None):
    """A 2020Q1 application a team registered and submitted today, and an on-time one."""
    late = make_application(
        code="330402", quarter="2020Q1", status="submitted", now=now or utcnow(), name="补报应用"
    )
    on_time = make_application(
        code="330411", quarter="2020Q1", status="submitted", now=IN_Q1, name="按时应用"
    )
    db.session.commit()
    return late, on_time


@pytest.mark.parametrize(
    ("lang", "badge", "notice"),
    [
        ("zh", ">补报<", "不计入该季度任务"),
        ("en", ">Filed late<", "does not count toward the quarter's quota"),
    ],
)
def test_the_review_page_marks_a_late_filing(app, client, login, lang, badge, notice):
    late, on_time = backfilled()
    login("admin")
    if lang == "en":
        client.set_cookie("lang", "en")
    page = client.get(f"/applications/{late.id}").get_data(as_text=True)
    assert badge in page and notice in page and 'data-testid="filed-late"' in page
    page = client.get(f"/applications/{on_time.id}").get_data(as_text=True)
    assert 'data-late="1"' not in page and 'data-testid="filed-late"' not in page


def test_the_public_does_not_see_the_late_mark(app, client):
    late, _on_time = backfilled()
    late_page = client.get(f"/applications/{late.id}")
    assert 'data-testid="filed-late"' not in late_page.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "label"), [("zh", "补报 1 件"), ("en", "1 filed late")])
def test_the_board_shows_late_filings_apart(app, client, login, lang, label):
    backfilled()
    login("admin")
    if lang == "en":
        client.set_cookie("lang", "en")
    page = client.get("/applications/board?year=2020").get_data(as_text=True)
    assert (
        'data-quarter="2020Q1" data-approved="0" data-submitted="0" data-state="behind" data-late="1"' in page
    )
    assert label in page


def test_the_submit_button_refuses_past_the_offices_grace_period(app, client):
    app.config["APPLICATION_LATE_GRACE_DAYS"] = 0
    member = team_member("330402")
    application = make_application(code="330402", by=member, quarter="2020Q1", status="draft", now=IN_Q1)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = member.get_id()
        session["_fresh"] = True
    response = client.post(f"/applications/{application.id}/submit", follow_redirects=True)
    assert response.status_code == 200
    assert "2020Q1 的报送已于季度结束 0 天后截止" in response.get_data(as_text=True)
    db.session.refresh(application)
    assert application.status == "draft"


def test_the_board_export_counts_late_filings_apart(app, client, login):
    backfilled()
    login("admin")
    client.set_cookie("lang", "en")
    rows = list(
        csv.reader(io.StringIO(client.get("/applications/board.csv?year=2020").data.decode("utf-8-sig")))
    )
    assert rows[0][2:6] == ["2020Q1 approved", "2020Q1 submitted", "2020Q1 quota met", "2020Q1 filed late"]
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["330402"][2:6] == ["0", "0", "no", "1"]  # the backfilled one
    assert by_code["330411"][2:6] == ["0", "1", "no", "0"]  # on time, awaiting review
