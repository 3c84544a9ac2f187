"""Team membership is an invitation that the invited account accepts; a listed address alone gives nothing."""

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
)
from factories import make_user
from flask_migrate import upgrade
from sqlalchemy import select, text

from portal import create_app
from portal.accounts.models import User
from portal.contest import invitations, panels, permissions, teams
from portal.contest.models import ACTIVE, Assignment, RoundJudge, TeamMember
from portal.dbtypes import utcnow
from portal.extensions import db

INVITEE = "invitee@example.cn"
PASSWORD = "Qx7-Vm2p-黄鹤楼-9kT!"


def sign_in(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)


def seat(round_, judge) -> None:
    """Put `judge` on the panel of the round's first track (a row, whatever panels.add_judge asks)."""
    db.session.add(RoundJudge(round_id=round_.id, track_id=round_.contest.tracks[0].id, judge_id=judge.id))
    db.session.flush()


def invitation_of(team, email: str = INVITEE) -> TeamMember:
    return db.session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.email == email)
    )


def snapshot(invitation: TeamMember) -> tuple:
    db.session.refresh(invitation)
    return invitation.status, invitation.user_id, invitation.token, invitation.answered_at


@pytest.fixture
def world(app):
    """A judging round with one entry of a team that invited INVITEE and has one accepted member."""
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging")
    team = make_team(contest, members=[INVITEE])
    entry = make_entry(team, round_, title="未公开的作品")
    other_member = make_user("developer", email="member@example.cn")
    join(team, other_member)
    judge = make_judge(round_)
    assign(entry, judge)
    people = {
        "captain": team.captain,
        "invitee": make_user("developer", email=INVITEE),
        "other member": other_member,
        "judge": judge,
        "admin": make_user("admin"),
    }
    db.session.commit()
    return {
        "team": team,
        "entry": entry,
        "round": round_,
        "people": people,
        "invitation": invitation_of(team),
    }


def test_signing_up_with_a_listed_address_shows_nothing_of_the_team(client, app):
    contest = make_contest()
    team = make_team(contest, members=["victim@example.cn"])
    entry = make_entry(team, make_round(contest), title="未公开的作品")
    db.session.commit()
    form = {"email": "victim@example.cn", "display_name": "冒名者", "password": PASSWORD, "confirm": PASSWORD}
    assert client.post("/account/sign-up", data=form).status_code == 302
    signed_in = client.post("/account/sign-in", data={"email": "victim@example.cn", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.get(f"/contest/teams/{team.id}").status_code == 403
    assert client.get(f"/contest/entries/{entry.id}").status_code == 403
    assert team.name not in client.get("/contest/teams/").get_data(as_text=True)
    squatter = db.session.scalar(select(User).where(User.email == "victim@example.cn"))
    assert not permissions.can_view_entry(squatter, entry)


def test_the_invitation_page_without_its_token_is_not_found_for_a_squatter(client, world):
    sign_in(client, world["people"]["invitee"])
    assert client.get("/contest/invitations/guessed-token").status_code == 404
    assert client.post("/contest/invitations/guessed-token/accept").status_code == 404
    assert snapshot(world["invitation"])[0] == "pending"


def test_listing_a_judges_address_is_refused_and_the_judge_keeps_their_assignments(client, world):
    team, judge = world["team"], world["people"]["judge"]
    sign_in(client, team.captain)
    client.set_cookie("lang", "en")
    response = client.post(
        f"/contest/teams/{team.id}/edit",
        data={"name": team.name, "region_id": str(team.region_id), "members": f"{INVITEE}\n{judge.email}"},
    )
    assert response.status_code == 400
    assert f"{judge.email} judges this contest and cannot join its teams." in response.get_data(as_text=True)
    assert invitation_of(team, judge.email) is None
    assert permissions.can_view_entry(judge, world["entry"])
    [held] = db.session.scalars(select(Assignment).where(Assignment.judge_id == judge.id)).all()
    assert held.status in ACTIVE


def test_a_pending_invitation_does_not_recuse_a_judge(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=1)
    judge = make_user("judge")
    team = make_team(contest, region_code=None, members=[judge.email])  # invited before judging
    seat(round_, judge)
    entry = make_entry(team, round_)
    panels.assign_round(round_, by=make_user("admin"), now=round_.judging_opens_at)
    [made] = db.session.scalars(select(Assignment).where(Assignment.entry_id == entry.id)).all()
    assert made.judge_id == judge.id and made.status == "assigned"


def test_a_judge_of_the_contest_cannot_accept_an_earlier_invitation(client, app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging")
    judge = make_user("judge")
    team = make_team(contest, members=[judge.email])
    seat(round_, judge)
    db.session.commit()
    invitation = invitation_of(team, judge.email)
    before = snapshot(invitation)
    sign_in(client, judge)
    client.set_cookie("lang", "en")
    page = client.get(f"/contest/invitations/{invitation.token}").get_data(as_text=True)
    assert "You judge this contest and cannot join its teams." in page and "Accept and join" not in page
    response = client.post(f"/contest/invitations/{invitation.token}/accept")
    assert response.status_code == 409
    assert "judges this contest and cannot join its teams" in response.get_data(as_text=True)
    assert snapshot(invitation) == before


@pytest.mark.usefixtures("english")
def test_a_judge_of_the_contest_cannot_form_a_team_in_it():
    contest = make_contest()
    judge = make_judge(make_round(contest, "judging"))
    with pytest.raises(teams.TeamError, match="You judge this contest"):
        teams.form_team(contest, name="评委的队", captain=judge, member_emails=[], region=None)


def test_the_invitee_accepts_signed_in_and_then_sees_the_team_and_its_entries(client, world):
    team, entry, invitee = world["team"], world["entry"], world["people"]["invitee"]
    sign_in(client, invitee)
    assert client.get(f"/contest/teams/{team.id}").status_code == 403
    page = client.get(f"/contest/invitations/{world['invitation'].token}")
    assert page.status_code == 200 and team.name in page.get_data(as_text=True)
    response = client.post(f"/contest/invitations/{world['invitation'].token}/accept")
    assert response.status_code == 302 and response.location.endswith(f"/contest/teams/{team.id}")
    status, user_id, _, answered_at = snapshot(world["invitation"])
    assert (status, user_id) == ("accepted", invitee.id) and answered_at is not None
    assert client.get(f"/contest/teams/{team.id}").status_code == 200
    assert "未公开的作品" in client.get(f"/contest/entries/{entry.id}").get_data(as_text=True)
    assert f'data-team="{team.id}"' in client.get("/contest/teams/").get_data(as_text=True)


def test_the_captain_sees_each_invitation_with_its_status_and_link(client, world):
    team = world["team"]
    sign_in(client, team.captain)
    page = client.get(f"/contest/teams/{team.id}").get_data(as_text=True)
    assert 'data-status="pending"' in page and 'data-status="accepted"' in page
    assert f"/contest/invitations/{world['invitation'].token}" in page
    sign_in(client, world["people"]["other member"])
    member_page = client.get(f"/contest/teams/{team.id}").get_data(as_text=True)
    assert world["invitation"].token not in member_page and 'data-testid="invitations"' not in member_page


def test_a_declined_invitation_gives_nothing_and_cannot_be_accepted_later(client, world):
    invitation, invitee = world["invitation"], world["people"]["invitee"]
    sign_in(client, invitee)
    assert client.post(f"/contest/invitations/{invitation.token}/decline").status_code == 302
    declined = snapshot(invitation)
    assert declined[0] == "declined" and declined[1] is None
    assert client.post(f"/contest/invitations/{invitation.token}/accept").status_code == 409
    assert snapshot(invitation) == declined
    assert client.get(f"/contest/teams/{world['team'].id}").status_code == 403


def test_the_captain_withdraws_a_pending_invitation_and_its_link_stops_working(client, world):
    team, invitation = world["team"], world["invitation"]
    sign_in(client, team.captain)
    response = client.post(f"/contest/teams/{team.id}/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    assert snapshot(invitation)[0] == "revoked"
    sign_in(client, world["people"]["invitee"])
    assert client.post(f"/contest/invitations/{invitation.token}/accept").status_code == 409
    assert snapshot(invitation)[0] == "revoked"


def test_removing_an_accepted_member_ends_their_access(client, world):
    team, member = world["team"], world["people"]["other member"]
    membership = invitation_of(team, member.email)
    sign_in(client, team.captain)
    assert client.post(f"/contest/teams/{team.id}/invitations/{membership.id}/revoke").status_code == 302
    db.session.refresh(team)
    assert member.id not in team.member_ids
    sign_in(client, member)
    assert client.get(f"/contest/teams/{team.id}").status_code == 403
    assert client.get(f"/contest/entries/{world['entry'].id}").status_code == 403


def test_listing_a_withdrawn_address_again_sends_a_new_link(world):
    team, invitation = world["team"], world["invitation"]
    old_token = invitation.token
    invitations.revoke(invitation, by=team.captain, now=utcnow())
    teams.update_team(team, name=team.name, member_emails=[INVITEE, "member@example.cn"], region=team.region)
    assert invitation.status == "pending" and invitation.token != old_token
    assert invitations.find(old_token) is None


def test_taking_an_address_off_the_list_withdraws_it(world):
    team = world["team"]
    teams.update_team(team, name=team.name, member_emails=["member@example.cn"], region=team.region)
    assert world["invitation"].status == "revoked"
    assert team.member_emails == ["member@example.cn"]


# Who may open and use the invitation routes. "invitee" is the account the invitation was sent to.
PEOPLE = ["captain", "invitee", "other member", "judge", "admin", "anonymous"]
ROUTES = {  # route → (method, {who: status}); anonymous visitors are sent to sign in
    "show": ("get", {"captain": 200, "invitee": 200}),
    "accept": ("post", {"invitee": 302}),
    "decline": ("post", {"invitee": 302}),
    "revoke": ("post", {"captain": 302}),
}


def route_url(route: str, world) -> str:
    invitation = world["invitation"]
    if route == "revoke":
        return f"/contest/teams/{invitation.team_id}/invitations/{invitation.id}/revoke"
    return f"/contest/invitations/{invitation.token}" + ("" if route == "show" else f"/{route}")


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("route", list(ROUTES))
def test_invitation_routes_permission_matrix(client, world, route, who):
    method, allowed = ROUTES[route]
    before = snapshot(world["invitation"])
    if who != "anonymous":
        sign_in(client, world["people"][who])
    response = getattr(client, method)(route_url(route, world))
    if who == "anonymous":
        assert response.status_code == 302 and "/account/sign-in" in response.location
    else:
        assert response.status_code == allowed.get(who, 403)
    if method == "post" and who not in allowed:
        assert snapshot(world["invitation"]) == before


def test_a_forged_or_overlong_token_is_not_found(client, world):
    sign_in(client, world["people"]["invitee"])
    before = snapshot(world["invitation"])
    for token in (
        "x" * 43,
        world["invitation"].token[:-1] + "!",
        "t" * 500,
        "a%00b",
        "%F0%9F%98%80",
        "%ED%A0%80",
    ):
        refused = 400 if "%00" in token else 404  # a NUL in an address is refused before any view
        assert client.get(f"/contest/invitations/{token}").status_code == refused
        assert client.post(f"/contest/invitations/{token}/accept").status_code == refused
        assert client.post(f"/contest/invitations/{token}/decline").status_code == refused
    assert snapshot(world["invitation"]) == before


def test_accepting_twice_answers_409_and_changes_nothing(client, world):
    sign_in(client, world["people"]["invitee"])
    url = f"/contest/invitations/{world['invitation'].token}/accept"
    assert client.post(url).status_code == 302
    accepted = snapshot(world["invitation"])
    client.set_cookie("lang", "en")
    again = client.post(url)
    assert again.status_code == 409 and "already answered" in again.get_data(as_text=True)
    assert snapshot(world["invitation"]) == accepted


def test_another_users_invitation_cannot_be_answered_and_reveals_nothing(client, world):
    sign_in(client, world["people"]["other member"])
    client.set_cookie("lang", "en")
    before = snapshot(world["invitation"])
    for url in (
        f"/contest/invitations/{world['invitation'].token}/accept",
        f"/contest/invitations/{world['invitation'].token}/decline",
    ):
        response = client.post(url)
        assert response.status_code == 403
        assert "sent to another address" in response.get_data(as_text=True)
    page = client.get(f"/contest/invitations/{world['invitation'].token}").get_data(as_text=True)
    assert world["team"].name not in page
    assert snapshot(world["invitation"]) == before


def test_revoking_through_another_teams_address_or_twice_is_refused(client, world):
    team, invitation = world["team"], world["invitation"]
    other_team = make_team(team.contest, captain=team.captain)
    db.session.commit()
    sign_in(client, team.captain)
    assert (
        client.post(f"/contest/teams/{other_team.id}/invitations/{invitation.id}/revoke").status_code == 404
    )
    assert client.post(f"/contest/teams/{team.id}/invitations/999999/revoke").status_code == 404
    assert client.post(f"/contest/teams/{team.id}/invitations/{invitation.id}/revoke").status_code == 302
    revoked = snapshot(invitation)
    assert client.post(f"/contest/teams/{team.id}/invitations/{invitation.id}/revoke").status_code == 409
    assert snapshot(invitation) == revoked


def test_revision_0011_turns_listed_addresses_into_pending_invitations(request, tmp_path):
    """Addresses listed before invitations existed never accepted: they become pending, each with a token."""
    url = request.getfixturevalue("empty_database_url")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "x"})
    when = "2026-01-01 00:00:00"
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as conn:
            for statement in (
                "INSERT INTO users (id, email, display_name, password_hash, role, organization, active,"
                f" created_at, session_epoch) VALUES (1, 'c@example.cn', '队长', 'x', 'developer', '', true,"
                f" '{when}', 0)",
                "INSERT INTO contests (id, year, name, description, rules, created_at)"
                f" VALUES (1, 2026, '大赛', '', '', '{when}')",
                "INSERT INTO teams (id, contest_id, name, captain_id, created_at)"
                f" VALUES (1, 1, '队', 1, '{when}')",
                "INSERT INTO team_members (team_id, email) VALUES (1, 'a@example.cn'), (1, 'b@example.cn')",
            ):
                conn.execute(text(statement))
        upgrade(revision="0011")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT status, token, user_id, invited_at FROM team_members")).all()
        db.engine.dispose()
    assert [r.status for r in rows] == ["pending", "pending"] and all(r.user_id is None for r in rows)
    assert len({r.token for r in rows}) == 2 and all(len(r.token) >= 43 and r.invited_at for r in rows)
