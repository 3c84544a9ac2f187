"""The office's contest pages: a judge's county set in one place, and closing a window now."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from contest_factories import (
    DAY,
    assign,
    make_contest,
    make_dataset,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user, region

from portal.contest import closing, entries, panels, scoring, windows
from portal.contest.models import Round
from portal.dbtypes import utcnow
from portal.extensions import db

# A judge's county


def test_adding_a_judge_to_a_second_round_keeps_their_county(app):
    contest = make_contest()
    first = make_round(contest, "judging")
    judge = make_judge(first, region_code="330481")
    second = make_round(contest, "upcoming")
    for track in contest.tracks:
        panels.add_judge(second, track, judge)
    assert panels.county_of(judge) == region("330481")


def test_adding_a_judge_through_the_panel_page_keeps_their_county(client, login, app):
    contest = make_contest()
    first, second = make_round(contest, "judging"), make_round(contest, "upcoming")
    judge = make_judge(first, region_code="330481")
    db.session.commit()
    login("admin")
    added = client.post(
        f"/contest/admin/rounds/{second.id}/judges",
        data={"judge_id": judge.id, "track_id": contest.tracks[0].id},
    )
    assert added.status_code == 302
    assert panels.county_of(judge) == region("330481")
    assert 'name="region_id"' not in client.get(f"/contest/admin/rounds/{second.id}/judges").get_data(
        as_text=True
    )


def test_the_office_sets_a_judges_county_on_one_page(client, login, app):
    judge = make_user("judge", display_name="王评委")
    login("admin")
    page = client.get("/contest/admin/judges").get_data(as_text=True)
    assert f'data-judge="{judge.id}" data-county=""' in page
    saved = client.post(f"/contest/admin/judges/{judge.id}/county", data={"region_id": region("330424").id})
    assert saved.status_code == 302
    assert panels.county_of(judge) == region("330424")
    page = client.get("/contest/admin/judges").get_data(as_text=True)
    assert f'data-judge="{judge.id}" data-county="330424"' in page
    client.post(f"/contest/admin/judges/{judge.id}/county", data={"region_id": 0})
    assert panels.county_of(judge) is None


@pytest.mark.usefixtures("english")
def test_the_city_is_not_a_judges_county(app):
    with pytest.raises(panels.PanelError, match="one of the counties"):
        panels.set_county(make_user("judge"), region("330400"))


@pytest.mark.usefixtures("english")
def test_a_county_is_refused_while_the_judge_holds_an_entry_of_it(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    judge = make_judge(round_, region_code="330481")
    assign(make_entry(make_team(contest, region_code="330402"), round_), judge)
    with pytest.raises(panels.PanelError, match="remove those assignments"):
        panels.set_county(judge, region("330402"))
    assert panels.county_of(judge) == region("330481")


def test_only_judge_accounts_have_a_county(client, login, app):
    developer = make_user("developer")
    login("admin")
    assert (
        client.post(f"/contest/admin/judges/{developer.id}/county", data={"region_id": 0}).status_code == 404
    )


# Closing a window now


@pytest.fixture
def open_round(app):
    contest = make_contest()
    round_ = make_round(contest, "submission")
    entry = make_entry(make_team(contest), round_)
    db.session.commit()
    return round_, entry


def test_closing_submissions_now_refuses_entries_afterwards(app, open_round):
    round_, _entry = open_round
    admin, now = make_user("admin"), utcnow()
    planned = round_.submission_closes_at
    closing.close(round_, closing.SUBMISSION, by=admin, now=now)
    assert (round_.submission_closes_at, round_.submission_closed_at) == (now, now)
    assert round_.submission_closed_by_id == admin.id and planned > now
    assert round_.judging_opens_at >= round_.submission_closes_at  # the windows stay in order
    team = make_team(round_.contest)
    draft = entries.EntryDraft("迟到的作品", "截止后提交。", "", [make_dataset().id])
    with pytest.raises(entries.SubmissionError):
        entries.submit_entry(
            team, round_, round_.contest.tracks[1], draft, by=team.captain, now=now + timedelta(seconds=1)
        )


@pytest.mark.usefixtures("english")
def test_closing_twice_is_refused(app, open_round):
    round_, _entry = open_round
    admin = make_user("admin")
    closing.close(round_, closing.SUBMISSION, by=admin, now=utcnow())
    with pytest.raises(closing.ClosingError, match="already closed"):
        closing.close(round_, closing.SUBMISSION, by=admin, now=utcnow())


@pytest.mark.usefixtures("english")
def test_a_window_not_yet_open_cannot_be_closed_now(app):
    round_ = make_round(make_contest(), "upcoming")
    with pytest.raises(closing.ClosingError, match="not opened yet"):
        closing.close(round_, closing.SUBMISSION, by=make_user("admin"), now=utcnow())
    with pytest.raises(closing.ClosingError, match="not opened yet"):
        closing.close(round_, closing.JUDGING, by=make_user("admin"), now=utcnow())


def test_closing_judging_now_locks_the_scores(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    judge = make_judge(round_)
    sheet = assign(make_entry(make_team(contest), round_), judge)
    now = utcnow()
    closing.close(round_, closing.JUDGING, by=make_user("admin"), now=now)
    assert round_.judging_closes_at == now and round_.judging_closed_at == now
    with pytest.raises(scoring.ScoringError):
        score_sheet(sheet, (8, 9, 4), now=now + timedelta(seconds=1))


@pytest.mark.usefixtures("english")
def test_judging_cannot_be_closed_once_the_results_are_published(app):
    round_ = make_round(make_contest(), "judging")
    round_.published_at = utcnow()
    with pytest.raises(closing.ClosingError, match="published"):
        closing.close(round_, closing.JUDGING, by=make_user("admin"), now=utcnow())


def test_the_office_closes_submissions_through_a_confirmation(client, login, open_round):
    round_, _entry = open_round
    admin = login("admin", display_name="李处长")
    settings = client.get(f"/contest/admin/rounds/{round_.id}").get_data(as_text=True)
    url = f"/contest/admin/rounds/{round_.id}/close/submission"
    assert f'href="{url}"' in settings
    confirmation = client.get(url)
    html = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200 and 'data-testid="confirm-close"' in html
    assert 'data-entries="1"' in html
    assert db.session.get(Round, round_.id).submission_closed_at is None  # a GET changes nothing
    assert client.post(url).status_code == 302
    db.session.expire_all()
    closed = db.session.get(Round, round_.id)
    assert closed.submission_closed_by_id == admin.id
    assert windows.submission_closed(closed, utcnow())
    assert 'data-closed="submission"' in client.get(f"/contest/admin/rounds/{round_.id}").get_data(
        as_text=True
    )


def test_closing_twice_through_the_page_is_a_clear_refusal(client, login, open_round):
    round_, _entry = open_round
    login("admin")
    url = f"/contest/admin/rounds/{round_.id}/close/submission"
    assert client.post(url).status_code == 302
    again = client.post(url)
    assert again.status_code == 409
    assert 'data-testid="refusal"' in again.get_data(as_text=True)
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="refusal"' in page and 'data-testid="confirm-close"' not in page


def test_the_confirmation_needs_its_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from portal.seeding import load_regions

        load_regions()
        contest = make_contest()
        round_ = make_round(contest, "submission")
        admin = make_user("admin")
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = admin.get_id()
        url = f"/contest/admin/rounds/{round_.id}/close/submission"
        assert client.post(url).status_code == 400
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(
            1
        )
        assert client.post(url, data={"csrf_token": token}).status_code == 302


def test_an_unknown_window_is_not_found(client, login, open_round):
    round_, _entry = open_round
    login("admin")
    assert client.get(f"/contest/admin/rounds/{round_.id}/close/appeals").status_code == 404
    assert client.post("/contest/admin/rounds/99999/close/judging").status_code == 404


OFFICE_URLS = [
    ("get", "/contest/admin/rounds/{round}/close/submission"),
    ("post", "/contest/admin/rounds/{round}/close/submission"),
    ("get", "/contest/admin/rounds/{round}/close/judging"),
    ("post", "/contest/admin/rounds/{round}/close/judging"),
    ("get", "/contest/admin/judges"),
    ("post", "/contest/admin/judges/{judge}/county"),
]


@pytest.mark.parametrize(("method", "url"), OFFICE_URLS)
@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", None), ("county_member", 403), ("judge", 403), ("developer", 403), (None, 302)],
)
def test_only_the_office_closes_windows_and_sets_counties(
    client, login, open_round, method, url, role, status
):
    round_, _entry = open_round
    judge = make_user("judge")
    db.session.commit()
    if role:
        login(role, **({"region_code": "330402"} if role == "county_member" else {}))
    answer = getattr(client, method)(url.format(round=round_.id, judge=judge.id), data={"region_id": 0})
    if status is None:
        assert answer.status_code in (200, 302, 409)  # allowed: shown, done, or refused on its merits
    else:
        assert answer.status_code == status
        if status == 302:
            assert "/account/sign-in" in answer.headers["Location"]
    if role != "admin":
        db.session.expire_all()
        assert db.session.get(Round, round_.id).submission_closed_at is None


def test_rounds_keep_their_windows_in_order_after_closing_both(app, open_round):
    round_, _entry = open_round
    admin, now = make_user("admin"), utcnow()
    closing.close(round_, closing.SUBMISSION, by=admin, now=now)
    later = round_.judging_opens_at + DAY / 2
    closing.close(round_, closing.JUDGING, by=admin, now=later)
    assert (
        windows.order_problem(
            round_.submission_opens_at,
            round_.submission_closes_at,
            round_.judging_opens_at,
            round_.judging_closes_at,
        )
        is None
    )
