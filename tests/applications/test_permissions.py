"""Who sees and does what: the county's own team, another county's member, a judge, a developer, a visitor."""

from __future__ import annotations

import pytest
from application_factories import make_application, png
from factories import make_user
from flask_login import AnonymousUserMixin

from portal.applications import permissions
from portal.extensions import db

OWN, OTHER = "330402", "330483"
# who → (role, county)
PEOPLE = {
    "member": ("county_member", OWN),
    "stranger": ("county_member", OTHER),
    "admin": ("admin", OWN),
    "judge": ("judge", OWN),
    "developer": ("developer", OWN),
}
WHO = [*PEOPLE, "anonymous"]


def person(who: str):
    if who == "anonymous":
        return AnonymousUserMixin()
    role, code = PEOPLE[who]
    return make_user(role=role, region_code=code)


def sign_in(client, who: str):
    if who == "anonymous":
        return None
    user = person(who)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    return user


# predicate, application status → who is allowed
PREDICATE_TABLE = [
    ("can_view_application", "draft", {"member", "admin"}),
    ("can_view_application", "submitted", {"member", "admin"}),
    ("can_view_application", "returned", {"member", "admin"}),
    ("can_view_application", "approved", set(WHO)),
    ("can_follow_application", "approved", {"member", "admin"}),
    ("can_edit_application", "draft", {"member"}),
    ("can_edit_application", "returned", {"member"}),
    ("can_edit_application", "submitted", set()),
    ("can_edit_application", "approved", set()),
    ("can_submit_application", "draft", {"member"}),
    ("can_review_application", "submitted", {"admin"}),
    ("can_review_application", "draft", set()),
    ("can_review_application", "approved", set()),
    ("can_mark_application", "approved", {"admin"}),
    ("can_mark_application", "submitted", set()),
    ("can_inspect_application", "submitted", {"admin"}),
]


@pytest.mark.parametrize(("predicate", "status", "allowed"), PREDICATE_TABLE)
def test_predicate_table(app, predicate, status, allowed):
    application = make_application(code=OWN, status=status)
    answers = {who: getattr(permissions, predicate)(person(who), application) for who in WHO}
    assert answers == {who: who in allowed for who in WHO}


@pytest.mark.parametrize("who", WHO)
def test_only_a_counties_own_member_registers_for_it(app, who):
    from factories import region

    allowed = who == "member"
    assert permissions.can_register_application(person(who), region(OWN)) is allowed
    assert permissions.can_register_application(person(who), region("330400")) is False  # the city


@pytest.mark.parametrize("who", WHO)
def test_the_board_is_for_the_office_and_the_teams(app, who):
    assert permissions.can_view_board(person(who)) is (who in ("member", "stranger", "admin"))


SIGN_IN = "sign-in"

# (method, path template, status of the application) → who gets what; the rest get 403
ROUTES = [
    ("get", "/applications/{id}", "submitted", {"member": 200, "admin": 200, "anonymous": SIGN_IN}),
    (
        "get",
        "/applications/{id}/files/{file}",
        "submitted",
        {"member": 200, "admin": 200, "anonymous": SIGN_IN},
    ),
    (
        "get",
        "/applications/{id}/files/{file}/thumbnail",
        "draft",
        {"member": 200, "admin": 200, "anonymous": SIGN_IN},
    ),
    ("get", "/applications/{id}/edit", "draft", {"member": 200, "anonymous": SIGN_IN}),
    ("get", "/applications/{id}/edit", "submitted", {"anonymous": SIGN_IN}),
    ("post", "/applications/{id}/submit", "draft", {"member": 302, "anonymous": SIGN_IN}),
    ("post", "/applications/{id}/files/{file}/delete", "draft", {"member": 302, "anonymous": SIGN_IN}),
    ("post", "/applications/{id}/approve", "submitted", {"admin": 302, "anonymous": SIGN_IN}),
    ("post", "/applications/{id}/return", "submitted", {"admin": 302, "anonymous": SIGN_IN}),
    ("post", "/applications/{id}/exemplary", "approved", {"admin": 302, "anonymous": SIGN_IN}),
    ("get", "/applications/new", "draft", {"member": 200, "stranger": 200, "anonymous": SIGN_IN}),
    (
        "get",
        "/applications/team",
        "draft",
        {"member": 200, "stranger": 200, "admin": 200, "anonymous": SIGN_IN},
    ),
    (
        "get",
        "/applications/board",
        "draft",
        {"member": 200, "stranger": 200, "admin": 200, "anonymous": SIGN_IN},
    ),
    (
        "get",
        "/applications/board.csv",
        "draft",
        {"member": 200, "stranger": 200, "admin": 200, "anonymous": SIGN_IN},
    ),
    (
        "get",
        "/applications/board.xlsx",
        "draft",
        {"member": 200, "stranger": 200, "admin": 200, "anonymous": SIGN_IN},
    ),
    ("get", "/applications/dataset-choices", "draft", {"member": 200, "stranger": 200, "anonymous": SIGN_IN}),
    (
        "get",
        "/applications/notifications",
        "draft",
        {w: 200 for w in PEOPLE} | {"anonymous": SIGN_IN},
    ),
    ("get", "/applications/{id}", "approved", {w: 200 for w in WHO}),
    ("get", "/applications/{id}/files/{file}", "approved", {w: 200 for w in WHO}),
]


@pytest.mark.parametrize(("method", "path", "status", "expected"), ROUTES)
def test_route_matrix(app, client, method, path, status, expected):
    answers, wanted = {}, {}
    for who in WHO:
        application = make_application(code=OWN, status=status, screenshots=[png()])
        db.session.commit()
        with client.session_transaction() as session:
            session.clear()
        sign_in(client, who)
        url = path.format(id=application.id, file=application.screenshots[0].id)
        response = getattr(client, method)(url, data={"reason": "理由", "exemplary": "1"})
        location = response.headers.get("Location", "")
        answers[who] = (
            SIGN_IN
            if response.status_code == 302 and "/account/sign-in" in location
            else response.status_code
        )
        wanted[who] = expected.get(who, 403)
        db.session.expunge_all()  # the request may have deleted rows whose ids SQLite hands out again
    assert answers == wanted


@pytest.mark.parametrize("who", ["stranger", "admin", "judge", "developer", "anonymous"])
def test_nobody_but_the_team_changes_a_draft(app, client, who):
    application = make_application(code=OWN, status="draft")
    db.session.commit()
    sign_in(client, who)
    client.post(f"/applications/{application.id}/edit", data={"name": "被改了", "quarter": "2020Q2"})
    client.post(f"/applications/{application.id}/submit")
    db.session.expire_all()
    assert (application.name, application.status) == ("智慧停车导航", "draft")


def test_a_member_lists_only_their_countys_applications(app, client):
    own = make_application(code=OWN)
    other = make_application(code=OTHER)
    db.session.commit()
    sign_in(client, "member")
    page = client.get("/applications/team").get_data(as_text=True)
    assert f'data-application="{own.id}"' in page and f'data-application="{other.id}"' not in page


def test_admins_list_every_countys_applications(app, client):
    own, other = make_application(code=OWN), make_application(code=OTHER)
    db.session.commit()
    sign_in(client, "admin")
    page = client.get("/applications/team").get_data(as_text=True)
    assert f'data-application="{own.id}"' in page and f'data-application="{other.id}"' in page


@pytest.mark.parametrize("status", ["draft", "submitted", "returned"])
def test_unapproved_applications_are_nowhere_public(app, client, status):
    application = make_application(code=OWN, status=status, screenshots=[png()])
    db.session.commit()
    shot = application.screenshots[0]
    assert f'data-application="{application.id}"' not in client.get("/applications/").get_data(as_text=True)
    assert client.get("/api/v1/applications").get_json()["total"] == 0
    assert client.get(f"/api/v1/applications/{application.id}").status_code == 404
    for url in (f"/files/{shot.id}", f"/files/{shot.id}/thumbnail"):
        assert client.get(f"/applications/{application.id}{url}").status_code == 302  # to sign-in


def test_files_of_unapproved_applications_are_not_cached_publicly(app, client):
    application = make_application(code=OWN, status="submitted", screenshots=[png()])
    db.session.commit()
    sign_in(client, "admin")
    response = client.get(f"/applications/{application.id}/files/{application.screenshots[0].id}")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_file_is_served_only_under_its_own_application(app, client):
    approved = make_application(code=OWN, status="approved")
    hidden = make_application(code=OWN, status="draft", screenshots=[png()])
    db.session.commit()
    response = client.get(f"/applications/{approved.id}/files/{hidden.screenshots[0].id}")
    assert response.status_code == 404
