"""Error answers keep what the HTTP exception says: a 405 names the allowed methods (Allow)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import ApiToken
from portal.extensions import db


@pytest.mark.parametrize(
    "method, path, allowed, kind",
    [
        ("DELETE", "/datasets/", {"GET", "HEAD", "OPTIONS"}, "text/html"),
        ("POST", "/stats/", {"GET", "HEAD", "OPTIONS"}, "text/html"),
        ("GET", "/account/sign-out", {"POST", "OPTIONS"}, "text/html"),
        ("POST", "/api/v1/datasets", {"GET", "HEAD", "OPTIONS"}, "application/json"),
        ("PUT", "/api/v1/themes", {"GET", "HEAD", "OPTIONS"}, "application/json"),
        ("DELETE", "/api/3/action/package_search", {"GET", "HEAD", "OPTIONS", "POST"}, "application/json"),
    ],
)
def test_method_not_allowed_keeps_its_allow_header(client, method, path, allowed, kind):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    assert response.mimetype == kind


def test_json_405_is_the_api_error_envelope(client):
    response = client.post("/api/v1/datasets")
    assert response.get_json() == {"error": {"code": 405, "message": response.get_json()["error"]["message"]}}
    assert response.headers["Allow"]


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/%00",
        "/datasets/a%00b/reports",
        "/datasets/a%00/comments",
        "/datasets/a%00/resources/1/table",
        "/api/v1/datasets/%00",
    ],
)
def test_a_nul_in_an_address_is_refused_before_any_query(client, path):
    """PostgreSQL refuses a NUL in a text parameter with an error: no view may get to send one."""
    response = client.get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.get_json()["error"]["message"] == "Parameters must not contain NUL characters."
    else:
        assert response.mimetype == "text/html"


def test_an_address_without_a_nul_still_reaches_its_view(client):
    assert client.get("/datasets/no-such-dataset").status_code == 404


@pytest.mark.parametrize(
    "path, fields",
    [
        ("/account/sign-in", {"email": "a\x00@example.cn", "password": "x"}),
        ("/account/", {"display_name": "名\x00"}),
        ("/account/api-tokens", {"name": "\x00"}),
        ("/requests/new", {"title": "公交\x00", "description": "x", "department": "\x00"}),
        ("/requests/1/comments", {"text": "\x00"}),
        ("/admin/monitoring/tokens/1/lift", {"note": "已\x00核实"}),
        ("/datasets/", {"\x00": "a key, not a value"}),
    ],
)
def test_a_nul_in_a_posted_form_is_refused_before_any_view(client, login, path, fields):
    """PostgreSQL keeps no NUL in text and refuses one in a parameter with an error (a 500), and no field
    of the site's forms has a use for one: the site answers its 400 page before any view runs."""
    login("admin")
    response = client.post(path, data=fields)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0  # nothing was written


@pytest.mark.parametrize(
    "path, query",
    [
        ("/datasets/", {"department": "a\x00b", "tag": "\x00", "theme": "交通\x00"}),
        ("/admin/users", {"q": "a\x00"}),
    ],
)
def test_a_nul_in_a_query_is_no_server_error(client, login, path, query):
    """Queries are each view's: a filter holding a NUL is left out, as any malformed part of a search."""
    login("admin")
    assert client.get(path, query_string=query).status_code == 200


def test_the_api_answers_a_nul_in_its_own_shapes(client):
    """/api/v1 and /api/3 check their parameters themselves and answer JSON, never the site's page."""
    for path in ("/api/v1/datasets", "/api/3/action/package_search"):
        response = client.get(path, query_string={"q": "a\x00"})
        assert response.status_code < 500 and response.mimetype == "application/json"


def test_a_form_without_a_nul_still_reaches_its_view(client, login):
    login("admin")
    assert client.get("/datasets/", query_string={"q": "公交"}).status_code == 200
    made = client.post("/account/api-tokens", data={"name": "脚本"})
    assert made.status_code == 200 and "jxod_" in made.get_data(as_text=True)
