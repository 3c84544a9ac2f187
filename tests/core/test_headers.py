"""Security headers: on every response once, a view's own value kept, added in one pass (issue 20)."""

from __future__ import annotations

import cProfile
import pstats

from flask import Response

from portal import headers

NAMES = [name for name, _ in headers.SECURITY_HEADERS]


def test_every_page_carries_each_security_header_once(client):
    response = client.get("/")
    for name in NAMES:
        assert len(response.headers.getlist(name)) == 1, name
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_a_views_own_header_is_kept_and_hsts_added_behind_tls(make_app):
    app = make_app(PREFERRED_URL_SCHEME="https")

    @app.get("/framed")
    def framed():
        return Response("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    response = app.test_client().get("/framed")
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["Strict-Transport-Security"] == f"max-age={app.config['HSTS_MAX_AGE']}"


def test_the_headers_are_added_in_one_pass(app):
    response = Response("<p>页面</p>", mimetype="text/html")
    profile = cProfile.Profile()
    with app.test_request_context("/"):
        profile.runcall(headers._secure, response)
    calls = sum(stats[1] for stats in pstats.Stats(profile).stats.values())
    assert calls < 50  # five setdefault calls took about 120
    assert all(name in response.headers for name in NAMES)


def test_the_request_id_replaces_one_a_view_set_and_follows_the_security_headers(make_app):
    app = make_app()

    @app.get("/own-id")
    def own_id():
        return Response("ok", headers={"x-request-id": "the-views-own"})

    response = app.test_client().get("/own-id", headers={"X-Request-ID": "nginx-4f2a9c1d"})
    assert response.headers.getlist("X-Request-ID") == ["nginx-4f2a9c1d"]
    page = app.test_client().get("/")
    names = [name for name, _ in page.headers]
    assert names.index("X-Request-ID") > max(names.index(name) for name in NAMES)
