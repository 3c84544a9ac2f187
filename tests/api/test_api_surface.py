"""/api/v1 as one surface (issue 12 item 1): every area's API nested under one parent whose hooks apply
tokens, budgets, NUL refusal and metering once, one JSON error envelope, and OpenAPI operations declared
by each area beside its routes and collected into one document."""

from __future__ import annotations

import pytest
from factories import make_user
from flask import Blueprint
from sqlalchemy import select

from portal.accounts import tokens
from portal.activity.models import ActivityEvent
from portal.api import openapi, v1
from portal.errors import json_error
from portal.extensions import db
from portal.refusals import Refusal

# One GET route of each area nested under /api/v1 (catalogue, applications, metrics, contest).
AREA_ROUTES = {
    "catalogue": "/api/v1/themes",
    "applications": "/api/v1/applications",
    "metrics": "/api/v1/metrics/counties",
    "contest": "/api/v1/contests",
}
ROUTES = pytest.mark.parametrize("path", list(AREA_ROUTES.values()), ids=list(AREA_ROUTES))


def token_of(user) -> str:
    _, plain = tokens.create_token(user, "脚本")
    db.session.commit()
    return plain


def api_calls() -> list[ActivityEvent]:
    return db.session.scalars(
        select(ActivityEvent).where(ActivityEvent.kind == "api_call").order_by(ActivityEvent.id)
    ).all()


def assert_envelope(response, status: int) -> str:
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == status
    return body["error"]["message"]


@ROUTES
def test_each_area_counts_against_the_shared_anonymous_budget(app, make_app, path):
    client = make_app(RATELIMIT_ENABLED=True, API_RATELIMIT_ANONYMOUS="2 per minute").test_client()
    assert [client.get(path).status_code for _ in range(2)] == [200, 200]
    refused = client.get(path)
    assert_envelope(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    others = [p for p in AREA_ROUTES.values() if p != path]
    assert {client.get(p).status_code for p in others} == {429}  # one budget for every area
    assert client.get("/api/3/action/status_show").status_code == 429  # and for the CKAN-compatible API


@ROUTES
def test_each_area_counts_against_its_token_holders_budget(app, make_app, path):
    bearer = {"Authorization": f"Bearer {token_of(make_user('developer'))}"}
    client = make_app(RATELIMIT_ENABLED=True, API_RATELIMIT_TOKEN="1 per minute").test_client()
    assert client.get(path, headers=bearer).status_code == 200
    assert_envelope(client.get("/api/v1/themes", headers=bearer), 429)
    assert client.get(path).status_code == 200  # anonymous callers have their own budget


@ROUTES
def test_each_area_records_an_api_call_for_its_caller(app, client, path):
    developer = make_user("developer")
    plain = token_of(developer)
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"X-API-Key": plain}).status_code == 200
    assert [event.user_id for event in api_calls()] == [None, developer.id]


@ROUTES
def test_each_area_refuses_a_nul_in_any_parameter(app, client, path):
    message = assert_envelope(client.get(f"{path}?anything=a%00b"), 400)
    assert "NUL" in message


@ROUTES
@pytest.mark.parametrize("problem", ["unknown", "revoked", "deactivated"])
def test_each_area_refuses_a_bad_token_instead_of_reading_it_as_anonymous(app, client, path, problem):
    user = make_user("developer")
    token, plain = tokens.create_token(user, "令牌")
    if problem == "unknown":
        plain = tokens.TOKEN_PREFIX + "x" * 43
    elif problem == "revoked":
        tokens.revoke(token, by=user)
    else:
        user.active = False
    db.session.commit()
    response = client.get(path, headers={"Authorization": f"Bearer {plain}"})
    assert_envelope(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@ROUTES
def test_each_area_takes_a_token_in_either_header(app, client, path):
    plain = token_of(make_user("developer"))
    for headers in ({"Authorization": f"Bearer {plain}"}, {"X-API-Key": plain}):
        assert client.get(path, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/applications/2147483647", 404),  # abort() in an area
        ("/api/v1/contests/1/rounds/1/results", 404),
        ("/api/v1/datasets/nothing-here", 404),  # ApiError in an area
        ("/api/v1/metrics/counties?year=1999", 400),
        ("/api/v1/contests?page=0", 400),
        ("/api/v1/nothing-here", 404),  # no route at all
        ("/api/v1/themes?per_page=x", 400),
    ],
)
def test_every_refusal_under_the_api_has_one_envelope(app, client, path, status):
    assert_envelope(client.get(path), status)


def test_the_envelope_is_one_function():
    assert json_error(404, "gone") == ({"error": {"code": 404, "message": "gone"}}, 404)
    headers = {"Retry-After": "5"}
    assert json_error(503, "busy", headers) == ({"error": {"code": 503, "message": "busy"}}, 503, headers)


def test_the_documentation_page_is_no_api_call(app, client):
    assert client.get("/api/v1/").status_code == 200
    assert client.get("/api/v1/", headers={"Authorization": "Bearer not-a-token"}).status_code == 200
    assert api_calls() == []


def test_every_area_is_nested_under_the_one_parent(app):
    endpoints = [rule.endpoint for rule in app.url_map.iter_rules()]
    nested = {endpoint.split(".")[1] for endpoint in endpoints if endpoint.count(".") == 2}
    assert {"catalogue", "applications", "metrics", "contest"} <= nested
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/":
            assert rule.endpoint.startswith("api."), f"{rule.rule} is outside the /api/v1 surface"


def test_nesting_an_area_again_is_harmless_and_another_under_its_name_is_refused(app):
    from portal.applications import api as applications_api

    assert v1.nest(applications_api.bp) is v1.bp
    with pytest.raises(ValueError, match="applications"):
        v1.nest(Blueprint("applications", __name__))


def test_each_area_declares_its_operations_and_gets_the_surfaces_refusals_documented(app):
    document = openapi.document(app)
    tags = {}
    for path, operations in document["paths"].items():
        for spec in operations.values():
            tags.setdefault(spec["tags"][0], []).append(path)
            if path != "/api/v1/":  # the documentation page is outside the surface
                assert {"400", "401", "429"} <= set(spec["responses"]), path
    assert tags["applications"] == ["/api/v1/applications", "/api/v1/applications/{application_id}"]
    assert tags["metrics"] == ["/api/v1/metrics/counties"]
    assert tags["contest"] == ["/api/v1/contests", "/api/v1/contests/{contest_id}/rounds/{round_id}/results"]
    assert tags["comments"] == ["/api/v1/datasets/{name}/comments"] * 2  # GET and POST
    assert {"Application", "RegionFigures", "ContestRound", "Dataset", "Error"} <= set(
        document["components"]["schemas"]
    )


def test_two_areas_cannot_declare_different_schemas_under_one_name():
    with pytest.raises(ValueError, match="Application"):
        openapi.schemas({"Application": openapi.obj({"id": openapi.STRING})})


@pytest.mark.parametrize(
    ("refusal", "status", "message"),
    [
        (v1.ApiError(410, "The dataset has been withdrawn."), 410, "The dataset has been withdrawn."),
        (Refusal("The quarter is closed."), 400, "The quarter is closed."),  # a domain rule's no
    ],
)
def test_a_refusal_from_a_nested_view_is_answered_in_the_envelope(app, refusal, status, message):
    with app.test_request_context("/api/v1/themes"):
        body, code = v1.refused(refusal)
    assert (body, code) == ({"error": {"code": status, "message": message}}, status)


def test_the_api_error_is_a_refusal_like_every_other():
    assert issubclass(v1.ApiError, Refusal)


def _writes(how: str) -> None:
    """Write a theme in the request's session as a view may, leaving the commit to the API's hook."""
    from sqlalchemy import insert

    from portal.catalogue.models import Theme

    values = {"ckan_id": f"theme-{how}", "name": f"theme-{how}", "title": "主题"}
    if how == "pending":  # added, not flushed
        db.session.add(Theme(**values))
    elif how == "flushed":
        db.session.add(Theme(**values))
        db.session.flush()
    else:  # a statement on the session's connection, past the ORM
        db.session.connection().execute(insert(Theme.__table__).values(values))


@pytest.mark.parametrize("how", ["pending", "flushed", "connection"])
def test_what_a_call_wrote_is_committed_and_a_read_commits_nothing(app, client, monkeypatch, how):
    """The API's hook commits what a call wrote, however it wrote it; on SQLite a call that only read
    commits nothing (its transaction ends with the request), where it committed every call. On PostgreSQL
    it commits what it read in, as before: the rollback would make psycopg forget its prepared statements
    (issue 16)."""
    import sqlalchemy as sa

    from portal.api import ckan
    from portal.catalogue.models import Theme

    endpoint = app.url_map.bind("localhost").match("/api/v1/themes")[0]
    view = app.view_functions[endpoint]

    def writing_view(**kwargs):
        _writes(how)
        return view(**kwargs)

    def writing_action(params: dict) -> dict:
        _writes(how + "-ckan")
        return {}

    monkeypatch.setitem(app.view_functions, endpoint, writing_view)
    monkeypatch.setitem(ckan.ACTIONS, "write_for_test", writing_action)
    commits: list[object] = []

    def commit(conn) -> None:
        commits.append(conn)

    sa.event.listen(db.engine, "commit", commit)
    try:
        assert client.get("/api/3/action/status_show").status_code == 200  # no statement
        assert client.get("/api/3/action/package_list").status_code == 200  # a read
        # a read on the driver's own cursor, past the engine's hooks (the row store's lookup of a resource)
        missing = "/api/3/action/datastore_search?resource_id=00000000-0000-4000-8000-000000000000"
        assert client.get(missing).status_code == 404
        assert len(commits) == 2 * (db.engine.dialect.name == "postgresql")
        commits.clear()
        assert client.get("/api/v1/themes").status_code == 200
        assert client.get("/api/3/action/write_for_test").status_code == 200
    finally:
        sa.event.remove(db.engine, "commit", commit)
    assert len(commits) == 2
    db.session.rollback()
    names = set(db.session.scalars(select(Theme.name)))
    assert {f"theme-{how}", f"theme-{how}-ckan"} <= names
