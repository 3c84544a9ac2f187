"""The office sets a contest up, walked through the pages as an admin (issue 19 item 11): a draft until
published (no public page, list, API answer or team sign-up before), confirmations on every save, rubrics
started from a template or the last round's, results offered for publication only once judging has closed;
judges see a running weighted total and leave an overall comment; teams submit entries with screenshots."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from application_factories import png
from contest_factories import assign, make_contest, make_entry, make_judge, make_round, make_team, windows_for
from factories import make_user
from sqlalchemy import select

from portal import clock
from portal.contest import rubrics, scoring
from portal.contest.models import Assignment, Contest, Round
from portal.dbtypes import utcnow
from portal.extensions import db

ROLES = ("developer", "county_member", "judge")


def _as(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def _flashes(client, response) -> list[str]:
    page = client.get(response.location).text
    return re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', page)


def _local(moment) -> str:
    return clock.to_local(moment).strftime("%Y-%m-%dT%H:%M")


def _round_form(name: str, phase: str = "submission") -> dict:
    bounds = windows_for(phase)
    return {"name": name, "judges_per_entry": "3", "notice_days": "7", "aggregation": "mean"} | {
        key: _local(value) for key, value in bounds.items()
    }


def _rubric_rows(page: str) -> list[str]:
    return re.findall(r'name="criteria-\d+-name"[^>]*value="([^"]*)"', page)


def _contest_ids(client) -> list[int]:
    return [c["id"] for c in client.get("/api/v1/contests").get_json()["items"]]


def test_admin_sets_a_contest_up_as_a_draft_then_publishes_it(app, client):
    admin = make_user("admin")
    db.session.commit()
    _as(client, admin)

    created = client.post("/contest/admin/", data={"year": "2026", "name": "2026年嘉兴数据开放创新大赛"})
    assert created.status_code == 302
    assert any("草稿" in text for text in _flashes(client, created))
    contest = db.session.scalar(select(Contest))
    assert contest.is_draft

    # Nobody but the office sees the draft: not the list, the page, the API, nor team sign-up.
    visitor = app.test_client()
    developer = app.test_client()
    _as(developer, make_user("developer"))
    db.session.commit()
    assert "2026年嘉兴数据开放创新大赛" not in visitor.get("/contest/").text
    assert visitor.get(f"/contest/{contest.id}").status_code == 404
    assert developer.get(f"/contest/{contest.id}").status_code == 404
    assert developer.get(f"/contest/{contest.id}/teams/new").status_code == 404
    assert contest.id not in _contest_ids(visitor)
    assert client.get(f"/contest/{contest.id}").status_code == 200  # the office previews it

    # Publishing needs a track and a round; the page says so and the refusal is a message, not a change.
    page = client.get(f"/contest/admin/{contest.id}").text
    assert "至少添加一个赛道和一个赛段" in page and "/publish" not in page
    refused = client.post(f"/contest/admin/{contest.id}/publish")
    assert refused.status_code == 302 and _flashes(client, refused)
    db.session.expire_all()
    assert db.session.get(Contest, contest.id).is_draft

    track = client.post(f"/contest/admin/{contest.id}/tracks", data={"name": "智慧交通"})
    assert any("智慧交通" in text for text in _flashes(client, track))
    first = client.post(f"/contest/admin/{contest.id}/rounds/new", data=_round_form("初赛"))
    assert first.status_code == 302 and _flashes(client, first)
    round_ = db.session.scalar(select(Round).where(Round.name == "初赛"))

    # The rubric starts from a template, shown but not saved until the office saves it.
    started = client.get(f"/contest/admin/rounds/{round_.id}/rubric?start=application")
    assert _rubric_rows(started.text)[:4] == ["创新性", "数据应用", "应用价值", "完成度"]
    assert "尚未保存" in started.text
    db.session.expire_all()
    assert db.session.get(Round, round_.id).criteria == []
    rows = rubrics.template("application").criteria
    form = {}
    for i, spec in enumerate(rows):
        form |= {
            f"criteria-{i}-name": spec.name,
            f"criteria-{i}-description": spec.description,
            f"criteria-{i}-weight": str(spec.weight),
            f"criteria-{i}-max_score": str(spec.max_score),
        }
    saved = client.post(f"/contest/admin/rounds/{round_.id}/rubric", data=form)
    assert saved.status_code == 302 and _flashes(client, saved)
    db.session.expire_all()
    assert [c.weight for c in db.session.get(Round, round_.id).criteria] == [30, 30, 25, 15]

    # The next round offers the last round's rubric.
    client.post(f"/contest/admin/{contest.id}/rounds/new", data=_round_form("决赛", "upcoming"))
    final = db.session.scalar(select(Round).where(Round.name == "决赛"))
    offer = client.get(f"/contest/admin/rounds/{final.id}/rubric").text
    assert "?start=last" in offer and "初赛" in offer
    copied = client.get(f"/contest/admin/rounds/{final.id}/rubric?start=last").text
    assert _rubric_rows(copied)[:4] == ["创新性", "数据应用", "应用价值", "完成度"]

    published = client.post(f"/contest/admin/{contest.id}/publish")
    assert _flashes(client, published)
    assert "2026年嘉兴数据开放创新大赛" in visitor.get("/contest/").text
    assert visitor.get(f"/contest/{contest.id}").status_code == 200
    assert contest.id in _contest_ids(visitor)
    assert developer.get(f"/contest/{contest.id}/teams/new").status_code == 200


def test_a_contest_with_a_team_stays_public(client, login):
    contest = make_contest()
    make_round(contest)
    make_team(contest)
    login("admin")
    answer = client.post(f"/contest/admin/{contest.id}/unpublish")
    assert answer.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Contest, contest.id).is_draft


def test_a_contest_without_teams_returns_to_draft(client, login):
    contest = make_contest()
    make_round(contest)
    login("admin")
    client.post(f"/contest/admin/{contest.id}/unpublish")
    db.session.expire_all()
    assert db.session.get(Contest, contest.id).is_draft


def test_results_of_a_draft_contest_stay_hidden(app, client):
    contest = make_contest(public=False)
    round_ = make_round(contest, "closed")
    round_.published_at = utcnow()
    db.session.commit()
    assert client.get(f"/contest/{contest.id}/rounds/{round_.id}/ranking").status_code == 404
    assert client.get(f"/api/v1/contests/{contest.id}/rounds/{round_.id}/results").status_code == 404


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/contest/admin/{contest}/publish", "post"),
        ("/contest/admin/{contest}/unpublish", "post"),
        ("/contest/admin/rounds/{round}/rubric?start=last", "get"),
        ("/contest/admin/rounds/{round}/rubric?start=application", "get"),
    ],
)
def test_new_setup_routes_are_the_office_s(app, make_app, path, method):
    contest = make_contest(public=False)
    round_ = make_round(contest)
    db.session.commit()
    url = path.format(contest=contest.id, round=round_.id)
    anonymous = app.test_client()
    assert getattr(anonymous, method)(url).status_code == 302  # to sign-in
    for role in ROLES:
        client = app.test_client()
        _as(client, make_user(role))
        db.session.commit()
        assert getattr(client, method)(url).status_code == 403, role
    admin = app.test_client()
    _as(admin, make_user("admin"))
    db.session.commit()
    assert getattr(admin, method)(url).status_code in (200, 302)


def test_unknown_rubric_start_is_ignored(client, login):
    round_ = make_round(make_contest(), rubric=False)
    login("admin")
    for start in ("nope", "../x", "last" * 50, "<script>"):
        page = client.get(f"/contest/admin/rounds/{round_.id}/rubric", query_string={"start": start})
        assert page.status_code == 200 and _rubric_rows(page.text) == [""] * 8


def test_publish_results_is_offered_only_once_judging_has_closed(client, login):
    contest = make_contest()
    judging, closed = make_round(contest, "judging"), make_round(contest, "closed")
    login("admin")
    running = client.get(f"/contest/admin/rounds/{judging.id}/results").text
    assert f"/rounds/{judging.id}/publish" not in running and 'data-testid="publish-later"' in running
    assert f"/rounds/{closed.id}/publish" in client.get(f"/contest/admin/rounds/{closed.id}/results").text


@pytest.fixture
def sheet(app, client):
    """A judge signed in on an assignment of a round in judging (rubric 40/10, 40/10, 20/5)."""
    contest = make_contest()
    round_ = make_round(contest, "judging")
    entry = make_entry(make_team(contest), round_)
    judge = make_judge(round_)
    assigned = assign(entry, judge)
    db.session.commit()
    _as(client, judge)
    return assigned


def _total(page: str) -> tuple[str, str]:
    total = re.search(r"<output data-score-total[^>]*>([^<]*)</output>", page).group(1)
    count = re.search(r"<span data-score-count>(\d+)</span>", page).group(1)
    return total, count


def test_score_sheet_shows_a_running_total_and_keeps_an_overall_comment(client, sheet):
    url = f"/contest/judging/assignments/{sheet.id}"
    page = client.get(url).text
    assert _total(page) == ("0.00", "0")
    assert 'src="/static/js/score-total.js"' in page and "<script>" not in page
    criteria = sheet.round.criteria
    data = {f"score_{criteria[0].id}": "8", f"score_{criteria[1].id}": "9", "action": "save"}
    data["overall_comment"] = "  思路清晰，数据用得充分；演示还不完整。 "
    assert client.post(url, data=data).status_code == 302
    page = client.get(url).text
    assert _total(page) == ("68.00", "2")  # 40 × 8/10 + 40 × 9/10
    assert "思路清晰，数据用得充分；演示还不完整。" in page
    db.session.expire_all()
    assert db.session.get(Assignment, sheet.id).overall_comment == "思路清晰，数据用得充分；演示还不完整。"


def test_a_refused_sheet_totals_only_what_is_valid(client, sheet):
    criteria = sheet.round.criteria
    data = {f"score_{criteria[0].id}": "8", f"score_{criteria[1].id}": "11", "action": "save"}
    page = client.post(f"/contest/judging/assignments/{sheet.id}", data=data)
    assert page.status_code == 400
    assert _total(page.text) == ("32.00", "1")


def test_overall_comment_is_bounded(client, sheet):
    data = {"overall_comment": "长" * (scoring.OVERALL_COMMENT_MAX + 1), "action": "save"}
    assert client.post(f"/contest/judging/assignments/{sheet.id}", data=data).status_code == 400
    db.session.expire_all()
    assert db.session.get(Assignment, sheet.id).overall_comment == ""


def test_running_total_counts_only_valid_scores():
    class C:
        def __init__(self, id, weight, max_score):
            self.id, self.weight, self.max_score, self.name = id, weight, max_score, str(id)

    from decimal import Decimal

    criteria = [C(1, 40, 10), C(2, 40, 10), C(3, 20, 5)]
    given = {1: Decimal("7.5"), 2: Decimal("NaN"), 3: Decimal("5")}
    assert scoring.running_total(criteria, given) == (Decimal("50.00"), 2)
    assert scoring.running_total(criteria, {}) == (Decimal("0.00"), 0)


def test_entry_form_says_submitting_and_takes_a_png_screenshot(client, login):
    contest = make_contest()
    round_ = make_round(contest)
    team = make_team(contest)
    db.session.commit()
    _as(client, team.captain)
    url = f"/contest/teams/{team.id}/rounds/{round_.id}/tracks/{contest.tracks[0].id}/entry"
    new = client.get(url).text
    assert "提交作品" in new and "没有单独的草稿" in new
    entry = make_entry(team, round_)
    db.session.commit()
    assert "保存修改" in client.get(url).text
    screenshot = png(640, 400)
    answer = client.post(
        f"/contest/entries/{entry.id}/files",
        data={"file": (io.BytesIO(screenshot), "首页截图.png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert answer.status_code == 200
    assert "首页截图.png" in answer.text and "0.0 MB" not in answer.text
    assert re.search(r"PNG · [\d.]+ (KB|字节)", answer.text), answer.text


def test_submitting_a_new_entry_confirms_it_is_submitted(client):
    from catalogue_factories import make_dataset

    contest = make_contest()
    round_ = make_round(contest)
    team = make_team(contest)
    dataset = make_dataset()
    db.session.commit()
    _as(client, team.captain)
    url = f"/contest/teams/{team.id}/rounds/{round_.id}/tracks/{contest.tracks[0].id}/entry"
    data = {"title": "公交到站预报", "abstract": "用开放数据预报公交到站。", "dataset_ids": [str(dataset.id)]}
    answer = client.post(url, data=data | {"action": "save"})
    assert answer.status_code == 302
    assert any("已提交" in text for text in _flashes(client, answer))


def test_last_rubric_round_prefers_the_same_contest_then_the_newest_contest(app):
    older = make_contest()
    old_round = make_round(older)
    contest = make_contest()
    first = make_round(contest, rubric=False)
    assert rubrics.last_rubric_round(first) == old_round
    second = make_round(contest)
    third = make_round(contest, rubric=False)
    assert rubrics.last_rubric_round(third) == second
    assert rubrics.last_rubric_round(first) == old_round  # a later round of its contest does not count


def test_the_office_reads_the_overall_comment_beside_the_scores(app, sheet):
    scoring.save_scores(sheet, {}, by=sheet.judge, now=utcnow(), overall_comment="完成度高，创新一般。")
    db.session.commit()
    office = app.test_client()
    _as(office, make_user("admin"))
    db.session.commit()
    page = office.get(f"/contest/admin/entries/{sheet.entry_id}").text
    assert "完成度高，创新一般。" in page and 'data-testid="overall-comment"' in page


def test_a_new_round_is_filled_in_from_the_last_one(client, login):
    contest = make_contest()
    first = make_round(contest, "closed", judges_per_entry=4, notice_days=5)
    login("admin")
    page = client.get(f"/contest/admin/{contest.id}/rounds/new").text
    assert 'data-testid="round-suggested"' in page and first.name in page
    assert re.search(r'name="judges_per_entry"[^>]*value="4"', page)
    assert re.search(r'name="notice_days"[^>]*value="5"', page)
    opens = re.search(r'name="submission_opens_at"[^>]*value="([^"]+)"', page).group(1)
    assert opens.replace(" ", "T").startswith(_local(first.judging_closes_at + timedelta(days=1)))
    assert re.search(r'name="name"[^>]*value=""', page) or 'value="' not in re.search(
        r'<input[^>]*name="name"[^>]*>', page
    ).group(0)


def test_the_first_round_of_a_contest_starts_empty(client, login):
    contest = make_contest()
    login("admin")
    page = client.get(f"/contest/admin/{contest.id}/rounds/new").text
    assert 'data-testid="round-suggested"' not in page


def test_a_draft_contest_waits_in_the_office_s_queue_until_published(client, login):
    contest = make_contest(public=False)
    make_round(contest)
    login("admin")
    assert re.search(
        r'data-task="draft_contests">\s*<a [^>]*><span class="queue-count" data-count="1"',
        client.get("/admin/").text,
    )
    client.post(f"/contest/admin/{contest.id}/publish")
    assert 'data-task="draft_contests">' in (page := client.get("/admin/").text)
    assert re.search(r'data-task="draft_contests">\s*<a [^>]*><span class="queue-count" data-count="0"', page)
