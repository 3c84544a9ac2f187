"""Who sees and does what: predicate tables, and the pages that enforce them."""

from __future__ import annotations

import pytest
from contest_factories import (
    assign,
    join,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user
from flask_login import AnonymousUserMixin

from portal.contest import permissions, results
from portal.dbtypes import utcnow
from portal.extensions import db

ANONYMOUS = AnonymousUserMixin()


@pytest.fixture
def world(app):
    """A judging round: one entry by a county team with a member who accepted, two judges, one assigned."""
    contest = make_contest()
    round_ = make_round(contest, "judging", blind=True)
    team = make_team(contest, members=["member@example.cn"])
    entry = make_entry(team, round_)
    assigned_judge, other_judge = make_judge(round_), make_judge(round_)
    sheet = assign(entry, assigned_judge)
    member = make_user("developer", email="member@example.cn")
    join(team, member)
    people = {
        "admin": make_user("admin"),
        "captain": team.captain,
        "member": member,
        "assigned judge": assigned_judge,
        "other judge": other_judge,
        "other county member": make_user("county_member", region_code="330483"),
        "developer": make_user("developer"),
        "anonymous": ANONYMOUS,
    }
    db.session.commit()
    return {"round": round_, "team": team, "entry": entry, "sheet": sheet, "people": people}


def sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)


PEOPLE = [
    "admin",
    "captain",
    "member",
    "assigned judge",
    "other judge",
    "other county member",
    "developer",
    "anonymous",
]


@pytest.mark.parametrize(
    ("who", "manage", "view_entry", "edit_entry", "score", "see_identity"),
    [
        ("admin", True, True, False, False, True),
        ("captain", False, True, True, False, True),
        ("member", False, True, False, False, True),
        ("assigned judge", False, True, False, True, False),
        ("other judge", False, False, False, False, False),
        ("other county member", False, False, False, False, True),
        ("developer", False, False, False, False, True),
        ("anonymous", False, False, False, False, True),
    ],
)
def test_role_table(world, who, manage, view_entry, edit_entry, score, see_identity):
    user = world["people"][who]
    assert permissions.can_manage_contest(user) is manage
    assert permissions.can_view_entry(user, world["entry"]) is view_entry
    assert permissions.can_edit_entry(user, world["team"]) is edit_entry
    assert permissions.can_score_assignment(user, world["sheet"]) is score
    assert permissions.can_declare_conflict(user, world["sheet"]) is score
    assert permissions.can_flag_entry(user, world["sheet"]) is score  # the round is blind
    assert permissions.can_see_identity(user, world["round"]) is see_identity


@pytest.mark.parametrize(
    ("who", "before", "after", "appeal_after"),
    [
        ("admin", True, True, False),
        ("captain", False, True, True),
        ("member", False, True, False),
        ("other judge", False, False, False),
        ("developer", False, False, False),
        ("anonymous", False, False, False),
    ],
)
def test_results_are_seen_only_after_publication(world, who, before, after, appeal_after):
    user, entry, round_ = world["people"][who], world["entry"], world["round"]
    assert permissions.can_view_entry_result(user, entry) is before
    assert permissions.can_file_appeal(user, entry) is False
    assert permissions.can_view_results(user, round_) is (who == "admin")
    round_.published_at = utcnow()
    assert permissions.can_view_entry_result(user, entry) is after
    assert permissions.can_file_appeal(user, entry) is appeal_after
    assert permissions.can_view_results(user, round_) is True


def test_a_judge_loses_the_entry_once_they_declare_a_conflict(world):
    world["sheet"].status = "conflict"
    judge = world["people"]["assigned judge"]
    assert not permissions.can_view_entry(judge, world["entry"])
    assert not permissions.can_score_assignment(judge, world["sheet"])


def test_a_judge_never_opens_another_judges_sheet(client, world):
    score_sheet(world["sheet"], (8, 8, 4), now=utcnow())
    db.session.commit()
    sign_in(client, world["people"]["other judge"])
    assert client.get(f"/contest/judging/assignments/{world['sheet'].id}").status_code == 404
    response = client.post(f"/contest/judging/assignments/{world['sheet'].id}", data={"action": "save"})
    assert response.status_code == 404


def test_a_judge_never_sees_an_unassigned_entry(client, world):
    sign_in(client, world["people"]["other judge"])
    assert client.get(f"/contest/entries/{world['entry'].id}").status_code == 403
    page = client.get("/contest/judging/").get_data(as_text=True)
    assert world["entry"].title not in page


def test_a_judges_list_shows_only_their_own_entries_and_hides_the_team_in_a_blind_round(client, world):
    sign_in(client, world["people"]["assigned judge"])
    page = client.get("/contest/judging/").get_data(as_text=True)
    assert world["entry"].title in page
    assert world["team"].name not in page
    score_page = client.get(f"/contest/judging/assignments/{world['sheet'].id}").get_data(as_text=True)
    assert 'data-testid="blind"' in score_page and world["team"].name not in score_page


def test_a_team_sees_no_rank_or_score_before_publication(client, world):
    score_sheet(world["sheet"], (8, 8, 4), now=utcnow())
    db.session.commit()
    sign_in(client, world["people"]["captain"])
    team_page = client.get(f"/contest/teams/{world['team'].id}").get_data(as_text=True)
    assert 'data-testid="team-result"' not in team_page
    round_ = world["round"]
    assert client.get(f"/contest/{round_.contest_id}/rounds/{round_.id}/ranking").status_code == 404
    assert client.get(f"/api/v1/contests/{round_.contest_id}/rounds/{round_.id}/results").status_code == 404


def test_a_team_member_sees_the_result_once_published(client, world):
    score_sheet(world["sheet"], (8, 8, 4), now=utcnow())
    world["round"].published_at = utcnow()
    db.session.commit()
    sign_in(client, world["people"]["member"])
    team_page = client.get(f"/contest/teams/{world['team'].id}").get_data(as_text=True)
    assert 'data-testid="team-result"' in team_page
    assert results.compute(world["round"]).row_of(world["entry"]).result.rank == 1


def test_another_county_member_cannot_open_the_team(client, world):
    sign_in(client, world["people"]["other county member"])
    assert client.get(f"/contest/teams/{world['team'].id}").status_code == 403
    assert client.get(f"/contest/entries/{world['entry'].id}").status_code == 403


def test_a_member_cannot_edit_the_entry_or_appeal(client, world):
    sign_in(client, world["people"]["member"])
    entry = world["entry"]
    url = f"/contest/teams/{entry.team_id}/rounds/{entry.round_id}/tracks/{entry.track_id}/entry"
    assert client.get(url).status_code == 403
    assert client.post(f"/contest/entries/{entry.id}/appeal", data={"reason": "不服"}).status_code == 403


ADMIN_PAGES = [
    "/contest/admin/",
    "/contest/admin/{contest}",
    "/contest/admin/rounds/{round}",
    "/contest/admin/rounds/{round}/rubric",
    "/contest/admin/rounds/{round}/judges",
    "/contest/admin/rounds/{round}/progress",
    "/contest/admin/rounds/{round}/results",
    "/contest/admin/rounds/{round}/export/ranking.csv",
    "/contest/admin/entries/{entry}",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize("role", ["admin", "county_member", "judge", "developer"])
def test_office_pages_are_for_admins_only(client, login, world, page, role):
    login(role)
    url = page.format(contest=world["round"].contest_id, round=world["round"].id, entry=world["entry"].id)
    assert client.get(url).status_code == (200 if role == "admin" else 403)


OFFICE_ACTIONS = [
    "/contest/admin/", "/contest/admin/1", "/contest/admin/1/tracks", "/contest/admin/1/rounds/new",
    "/contest/admin/rounds/1", "/contest/admin/rounds/1/rubric", "/contest/admin/rounds/1/judges",
    "/contest/admin/panel/1/delete", "/contest/admin/rounds/1/assign", "/contest/admin/entries/1/assignments",
    "/contest/admin/assignments/1/remove", "/contest/admin/conflicts/1", "/contest/admin/rounds/1/publish",
    "/contest/admin/rounds/1/finalise", "/contest/admin/appeals/1", "/contest/admin/flags/1",
]  # fmt: skip


@pytest.mark.parametrize("url", OFFICE_ACTIONS)
@pytest.mark.parametrize("role", ["county_member", "judge", "developer"])
def test_office_actions_are_forbidden_to_other_roles(client, login, url, role):
    login(role)
    assert client.post(url, data={"reason": "x", "decision": "upheld"}).status_code == 403


@pytest.mark.parametrize("action", ["conflict", "flag"])
@pytest.mark.parametrize("role", ["admin", "county_member", "developer"])
def test_judge_actions_are_forbidden_to_other_roles(client, login, world, action, role):
    login(role)
    url = f"/contest/judging/assignments/{world['sheet'].id}/{action}"
    assert client.post(url, data={"conflict-reason": "x", "flag-reason": "x"}).status_code == 403


@pytest.mark.parametrize("action", ["conflict", "flag"])
def test_another_judge_cannot_act_on_a_sheet(client, world, action):
    sign_in(client, world["people"]["other judge"])
    url = f"/contest/judging/assignments/{world['sheet'].id}/{action}"
    assert client.post(url, data={"conflict-reason": "x", "flag-reason": "x"}).status_code == 404
    assert world["sheet"].status == "assigned"


@pytest.mark.parametrize("role", ["admin", "county_member", "developer"])
def test_judging_pages_are_for_judges_only(client, login, role):
    login(role)
    assert client.get("/contest/judging/").status_code == 403


@pytest.mark.parametrize("page", ["/contest/admin/", "/contest/judging/", "/contest/teams/"])
def test_anonymous_is_sent_to_sign_in(client, page):
    response = client.get(page)
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
