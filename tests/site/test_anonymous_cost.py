"""An anonymous visitor without a session cookie costs no sign-in work (issue 20 item 2): a plain page
view reads no user from the database and sets no remember cookie; a signed-in visitor's request does read
the user, which shows the probe would see it. A plain page sets no session cookie either: the language and
text-size switches carry a CSRF token only for signed-in visitors, who have a session anyway.

Nor does it commit anything (its page view is written behind it, in a batch), build the session
cookie's signer, or hash the client's address and agent for Flask-Login's session protection.

The one cookie an anonymous HTML page view still gets is the activity's random visitor id (`vid`,
portal/activity/events.py), which the unique-visitor figures rely on; a request that records no page
view (/healthz) sets no cookie at all."""

from __future__ import annotations

import re

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import event

from portal.activity.events import BACKLOG, VISITOR_COOKIE
from portal.extensions import db, login_manager

PAGES = ["/", "/datasets/", "/healthz"]
USERS = re.compile(r"\bFROM users\s+WHERE users\.id =", re.IGNORECASE)  # a user loaded by id (sign-in)


@pytest.fixture
def user_queries(app):
    """The SQL statements that load a user by id (as Flask-Login's user loader does) during the test;
    pages may still count users (the home page's figures), which is content, not sign-in work."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if USERS.search(statement):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_page_view_loads_no_user_and_sets_no_remember_cookie(client, user_queries, path):
    response = client.get(path)
    assert response.status_code == 200
    assert user_queries == []
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_page_view_sets_no_session_cookie(client, path):
    response = client.get(path)
    assert response.status_code == 200
    cookies = [c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie")]
    assert cookies == ([] if path == "/healthz" else [VISITOR_COOKIE])


def test_a_signed_in_visitors_page_view_does_load_the_user(client, login, user_queries):
    login("admin")
    user_queries.clear()
    assert client.get("/datasets/").status_code == 200
    assert user_queries, "the probe sees the user loaded from the session cookie"


@pytest.fixture
def probe(app):
    """What the engine does while the test runs: (statements, commits); the activity writer is held
    back, so what is seen is the requests' own work."""
    statements: list[str] = []
    commits: list[object] = []

    def statement(conn, cursor, text, *args):
        statements.append(text)

    app.extensions[BACKLOG].interval = 600
    listeners = [("before_cursor_execute", statement), ("commit", commits.append)]
    for name, listener in listeners:
        event.listen(db.engine, name, listener)
    try:
        yield statements, commits
    finally:
        for name, listener in listeners:
            event.remove(db.engine, name, listener)


def test_an_anonymous_page_view_commits_nothing_and_writes_no_event_itself(client, probe):
    """Its page view is written behind the request, in a batch (portal/activity/backlog.py)."""
    statements, commits = probe
    client.drains_activity = False
    for path in PAGES:
        assert client.get(path).status_code == 200
    assert commits == []
    assert not any("activity_events" in s for s in statements)


def test_an_anonymous_page_view_builds_no_session_signer_and_hashes_no_session_identity(
    client, login, monkeypatch
):
    signers, identities = [], []
    original_signer = SecureCookieSessionInterface.get_signing_serializer
    original_identity = login_manager._session_identifier_generator
    monkeypatch.setattr(
        SecureCookieSessionInterface,
        "get_signing_serializer",
        lambda self, app: signers.append(1) or original_signer(self, app),
    )
    monkeypatch.setattr(
        login_manager, "_session_identifier_generator", lambda: identities.append(1) or original_identity()
    )
    assert client.get("/").status_code == 200
    assert (signers, identities) == ([], [])
    login("developer")  # the probe sees a signed-in visitor's session work
    assert client.get("/").status_code == 200
    assert signers and identities
