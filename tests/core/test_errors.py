"""Error answers keep what the HTTP exception says: a 405 names the allowed methods (Allow)."""

from __future__ import annotations

import pytest


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
