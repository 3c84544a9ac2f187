"""/api/v1/contests: the contests with their tracks and rounds, and which rounds are published."""

from __future__ import annotations

import pytest
from contest_factories import (
    assign,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user

from portal.contest import results, setup
from portal.dbtypes import utcnow
from portal.extensions import db


@pytest.fixture
def contests(app):
    """A 2026 contest with a published first round and an open second round; an older 2025 contest."""
    older = setup.create_contest(year=2025, name="2025年数据开放创新应用大赛", by=None)
    setup.add_track(older, name="文化旅游")
    older.published_at = utcnow()  # public; a draft would be left out of the list
    contest = make_contest(tracks=("智慧交通", "民生服务"))
    first = make_round(contest, "closed")
    entry = make_entry(make_team(contest), first)
    score_sheet(assign(entry, make_judge(first)), (8, 9, 4))
    results.publish(first, by=make_user("admin"), now=utcnow())
    second = make_round(contest, "submission")
    db.session.commit()
    return contest, first, second, older


def test_the_list_gives_contests_newest_first_with_tracks_and_rounds(client, contests):
    contest, first, second, older = contests
    body = client.get("/api/v1/contests").get_json()
    assert (body["total"], body["page"], body["per_page"]) == (2, 1, 20)
    assert [c["id"] for c in body["items"]] == [contest.id, older.id]
    listed = body["items"][0]
    assert [t["name"] for t in listed["tracks"]] == ["智慧交通", "民生服务"]
    assert [r["id"] for r in listed["rounds"]] == [first.id, second.id]
    assert listed["url"].endswith(f"/contest/{contest.id}")


def test_a_published_round_says_so_and_links_its_results(client, contests):
    contest, first, second, _older = contests
    rounds = {r["id"]: r for r in client.get("/api/v1/contests").get_json()["items"][0]["rounds"]}
    published, open_ = rounds[first.id], rounds[second.id]
    assert published["published"] is True and published["phase"] == "notice"
    assert published["results_url"].endswith(f"/api/v1/contests/{contest.id}/rounds/{first.id}/results")
    results_body = client.get(published["results_url"]).get_json()  # the link works as given
    assert results_body["round"]["id"] == first.id
    assert (open_["published"], open_["results_url"], open_["ranking_url"]) == (False, None, None)
    assert open_["phase"] == "submission"


def test_the_list_shows_only_public_information(client, contests):
    body = client.get("/api/v1/contests").get_json()
    text = str(body)
    for private in ("captain", "judge", "score", "entries", "email", "team"):
        assert private not in text, private


def test_an_unpublished_rounds_results_stay_hidden(client, contests):
    contest, _first, second, _older = contests
    assert client.get(f"/api/v1/contests/{contest.id}/rounds/{second.id}/results").status_code == 404


def test_the_list_filters_by_year_and_pages(client, contests):
    _contest, _first, _second, older = contests
    assert [c["id"] for c in client.get("/api/v1/contests?year=2025").get_json()["items"]] == [older.id]
    second_page = client.get("/api/v1/contests?per_page=1&page=2").get_json()
    assert (second_page["total"], second_page["per_page"], [c["id"] for c in second_page["items"]]) == (
        2,
        1,
        [older.id],
    )
    assert client.get("/api/v1/contests?per_page=5000").get_json()["per_page"] == 100


@pytest.mark.parametrize(
    "query", ["page=0", "page=abc", "per_page=-1", "year=1999", "year=二〇二六", "page=" + "9" * 40]
)
def test_bad_parameters_get_a_json_error(client, contests, query):
    answer = client.get(f"/api/v1/contests?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == 400


def test_the_rounds_results_number_every_criterion_in_tie_break_order(client, contests):
    contest, first, _second, _older = contests
    body = client.get(f"/api/v1/contests/{contest.id}/rounds/{first.id}/results").get_json()
    # the factory's rubric types 数据应用 1 and 创新性 2; 完成度 follows in rubric order
    assert {c["name"]: c["tiebreak"] for c in body["criteria"]} == {"数据应用": 1, "创新性": 2, "完成度": 3}
