"""Saving the session after a request (accounts/sessions.py): an empty, unchanged session costs few calls
and still says the page varies by cookie (issue 20); a session that changed is saved as Flask saves it."""

from __future__ import annotations

import cProfile
import pstats

from flask import Response, session


def test_an_empty_session_read_by_the_page_sets_no_cookie_and_varies_by_cookie_once(app):
    with app.test_request_context("/"):
        response = Response("<p>页面</p>", mimetype="text/html")
        response.headers["Vary"] = "Accept-Encoding"
        opened = app.session_interface.open_session(app, app.test_request_context("/").request)
        opened.accessed = True  # read through flask.session, as base.html's flashes are
        app.session_interface.save_session(app, opened, response)
        assert response.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
        plain = Response("<p>页面</p>", mimetype="text/html")
        profile = cProfile.Profile()
        profile.runcall(app.session_interface.save_session, app, opened, plain)
    assert plain.headers.getlist("Vary") == ["Cookie"] and "Set-Cookie" not in plain.headers
    assert sum(stats[1] for stats in pstats.Stats(profile).stats.values()) < 30  # Flask's took about 55


def test_a_changed_session_is_saved_and_an_emptied_one_deleted(app):
    @app.get("/remember")
    def remember():
        session["seen"] = True
        return "ok"

    @app.get("/forget")
    def forget():
        session.clear()
        return "ok"

    client = app.test_client()
    saved = [c for c in client.get("/remember").headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(saved) == 1 and saved[0] != "session=;"
    deleted = [c for c in client.get("/forget").headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(deleted) == 1 and deleted[0].startswith("session=;") and "Max-Age=0" in deleted[0]
