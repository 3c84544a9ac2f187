"""The role matrix: who gets 200, 403 or a redirect to sign-in on protected pages."""

from __future__ import annotations

import pytest
from factories import make_user

from portal.accounts import permissions
from portal.extensions import db

ROLES = ["admin", "county_member", "judge", "developer"]
ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/users/new", "/admin/regions"]
TEAM_PAGES = ["/applications/team"]
SIGNED_IN_PAGES = ["/account/", "/account/password"]

EXPECTED = {
    **{(page, role): (200 if role == "admin" else 403) for page in ADMIN_PAGES for role in ROLES},
    **{
        (page, role): (200 if role in ("admin", "county_member") else 403)
        for page in TEAM_PAGES
        for role in ROLES
    },
    **{(page, role): 200 for page in SIGNED_IN_PAGES for role in ROLES},
}


@pytest.mark.parametrize(("page", "role"), sorted(EXPECTED))
def test_role_matrix(client, login, page, role):
    login(role)
    assert client.get(page).status_code == EXPECTED[(page, role)]


@pytest.mark.parametrize("page", ADMIN_PAGES + TEAM_PAGES + SIGNED_IN_PAGES)
def test_anonymous_is_sent_to_sign_in(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(
    ("url", "role"),
    [
        (u, r)
        for u in ["/admin/users/1/role", "/admin/users/1/active", "/admin/users/1/reset-password"]
        for r in ["county_member", "judge", "developer"]
    ],
)
def test_admin_actions_are_forbidden_to_other_roles(client, login, url, role):
    login(role)
    assert client.post(url, data={"role": "admin", "active": "0"}).status_code == 403


def test_forbidden_page_is_in_the_site_layout(client, login):
    login("developer")
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)
    assert "数据目录" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "own", "other", "none"),
    [
        ("admin", True, True, True),
        ("county_member", True, False, False),
        ("judge", False, False, False),
        ("developer", False, False, False),
    ],
)
def test_can_act_for_region(app, role, own, other, none):
    user = make_user(role=role, region_code="330402")
    db.session.flush()
    from factories import region

    assert permissions.can_act_for_region(user, region("330402").id) is own
    assert permissions.can_act_for_region(user, region("330483").id) is other
    assert permissions.can_act_for_region(user, None) is none


@pytest.mark.parametrize(
    ("role", "accounts", "team"),
    [
        ("admin", True, True),
        ("county_member", False, True),
        ("judge", False, False),
        ("developer", False, False),
    ],
)
def test_role_predicates(app, role, accounts, team):
    user = make_user(role=role)
    assert permissions.can_manage_accounts(user) is accounts
    assert permissions.can_use_team_workspace(user) is team
