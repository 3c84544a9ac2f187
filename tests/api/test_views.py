"""The JSON API under /api/v1: datasets, departments, themes, counties, tokens and rate limits.

The catalogue comes from a small `ckanapi dump` file synced by the real sync (`publish`, in
tests/api_factories.py), so the API reads what the sync really writes.
"""

from __future__ import annotations

import re

import pytest
from api_factories import package, publish, withdraw
from factories import make_user
from sqlalchemy import select

from portal.accounts import tokens
from portal.activity.models import ActivityEvent
from portal.api import openapi
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.regions import population


@pytest.fixture
def catalogue(app, tmp_path):
    publish(
        tmp_path,
        [
            package(1, title="海宁市公交站点", tags=("公交", "站点"), formats=("CSV", "XLSX")),
            package(2, title="嘉兴市交通运输行政许可", org="jx-jtysj", tags=("许可",), formats=("JSON",)),
            package(
                3,
                title="南湖区医疗机构名录",
                org="nh-wjj",
                groups=("ylws",),
                tags=("医院",),
                condition="有条件开放",
            ),  # fmt: skip
            package(4, title="海宁市停车场", tags=("停车", "站点"), formats=("API",)),
            package(5, title="海宁市公共自行车", tags=("公交",)),
        ],
    )


def names(body: dict) -> set[str]:
    return {item["name"] for item in body["items"]}


def test_datasets_lists_published_datasets_with_paging_and_facets(client, catalogue):
    body = client.get("/api/v1/datasets?per_page=2&sort=updated").get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 2, 5)
    assert [i["name"] for i in body["items"]] == ["api-dataset-005", "api-dataset-004"]
    assert set(body["facets"]) == {"department", "region", "theme", "format", "open_condition", "tag"}
    regions = {f["value"]: f["count"] for f in body["facets"]["region"]}
    assert regions == {"330481": 3, "330400": 1, "330402": 1}
    second = client.get("/api/v1/datasets?per_page=2&page=3&sort=updated").get_json()
    assert [i["name"] for i in second["items"]] == ["api-dataset-001"]


def test_datasets_search_finds_a_two_character_chinese_word_title_matches_first(client, catalogue):
    body = client.get("/api/v1/datasets", query_string={"q": "交通"}).get_json()
    assert (
        body["items"][0]["name"] == "api-dataset-002"
    )  # 交通运输 in its title, the others in their department
    assert "api-dataset-003" not in names(body)


@pytest.mark.parametrize("query", ["tag=公交&tag=站点", "tag=公交,站点", "tag=公交, 站点&tag=公交"])
def test_datasets_filters_take_repeated_or_comma_separated_values(client, catalogue, query):
    body = client.get(f"/api/v1/datasets?{query}").get_json()
    assert names(body) == {"api-dataset-001", "api-dataset-004", "api-dataset-005"}
    assert {f["value"] for f in body["facets"]["tag"] if f["selected"]} == {"公交", "站点"}


def test_datasets_filter_by_region_condition_and_format(client, catalogue):
    assert names(client.get("/api/v1/datasets?region=330402").get_json()) == {"api-dataset-003"}
    assert names(client.get("/api/v1/datasets?condition=conditional").get_json()) == {"api-dataset-003"}
    assert names(client.get("/api/v1/datasets?format=json").get_json()) == {"api-dataset-002"}


@pytest.mark.parametrize(
    "value", ["", ",", " conditional , ", "unconditional,conditional", "maybe", "conditional,x"]
)
def test_the_document_says_which_condition_values_the_api_accepts(app, client, catalogue, value):
    """A fuzzer reads the document's pattern: what it allows is answered, what it forbids refused."""
    schema = next(
        p["schema"]["items"] for p in openapi.document(app)["paths"]["/api/v1/datasets"]["get"]["parameters"]
        if p["name"] == "condition"
    )  # fmt: skip
    allowed = re.search(schema["pattern"], value) is not None
    response = client.get("/api/v1/datasets", query_string={"condition": value})
    assert response.status_code == (200 if allowed else 400)
    assert allowed == (value not in ("maybe", "conditional,x"))


def test_datasets_clamps_per_page_to_100(client, catalogue):
    body = client.get("/api/v1/datasets?per_page=1000").get_json()
    assert body["per_page"] == 100
    assert body["total"] == 5


@pytest.mark.parametrize(
    "query, word",
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=100001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=ten", "per_page"),
        ("sort=newest", "sort"),
        ("condition=maybe", "condition"),
        ("q=%00", "NUL"),
    ],
)
def test_bad_parameters_are_refused_with_a_json_error(client, catalogue, query, word):
    response = client.get(f"/api/v1/datasets?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == 400
    assert word in error["message"]


def test_dataset_gives_everything_with_resource_download_links(client, catalogue):
    response = client.get("/api/v1/datasets/api-dataset-001")
    assert response.status_code == 200
    assert "海宁市公交站点".encode() in response.data  # Chinese is not \u-escaped
    body = response.get_json()
    assert body["id"] == package(1)["id"]
    assert body["department"] == {
        "name": "hn-jtysj",
        "title": "海宁市交通运输局",
        "description": "",
        "region": {"code": "330481", "name": "海宁市", "level": "county"},
    }
    assert body["region"]["code"] == "330481"
    assert body["themes"] == [{"name": "jtcx", "title": "交通出行"}]
    assert body["tags"] == ["公交", "站点"]
    assert body["licence"]["id"] == "cc-by"
    assert body["open_condition"] == "unconditional"
    assert body["extras"] == {"update_frequency": "每月"}
    assert body["metadata_modified"] == "2025-03-02T08:01:00.123456+00:00"
    assert body["download_count"] == 0
    assert [r["format"] for r in body["resources"]] == ["CSV", "XLSX"]
    resource = body["resources"][0]
    assert resource["id"] == package(1)["resources"][0]["id"]
    assert resource["download_url"] == (
        f"http://localhost/datasets/api-dataset-001/resources/{resource['id']}/download"
    )
    assert body["url"] == "http://localhost/datasets/api-dataset-001"


def test_resources_lists_active_resources_only(client, catalogue):
    removed = db.session.scalar(select(Resource).where(Resource.format == "XLSX"))
    removed.state = "removed"
    db.session.commit()
    body = client.get("/api/v1/datasets/api-dataset-001/resources").get_json()
    assert [r["format"] for r in body["items"]] == ["CSV"]
    assert body["total"] == 1


def test_unknown_dataset_is_404_json(client, catalogue):
    response = client.get("/api/v1/datasets/no-such-dataset")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


@pytest.mark.parametrize(
    "path", ["/api/v1/datasets/api-dataset-002", "/api/v1/datasets/api-dataset-002/resources"]
)
def test_withdrawn_dataset_is_410_gone(client, catalogue, path):
    withdraw("api-dataset-002")
    response = client.get(path)
    assert response.status_code == 410
    assert "withdrawn" in response.get_json()["error"]["message"]


def test_withdrawn_datasets_are_not_listed_or_counted(client, catalogue):
    withdraw("api-dataset-002")
    assert "api-dataset-002" not in names(client.get("/api/v1/datasets").get_json())
    departments = {d["name"]: d for d in client.get("/api/v1/departments").get_json()["items"]}
    assert departments["jx-jtysj"]["dataset_count"] == 0


def test_departments_have_their_region_and_published_counts(client, catalogue):
    body = client.get("/api/v1/departments").get_json()
    counts = {d["name"]: (d["region"]["code"], d["dataset_count"]) for d in body["items"]}
    assert counts == {"hn-jtysj": ("330481", 3), "jx-jtysj": ("330400", 1), "nh-wjj": ("330402", 1)}
    assert body["total"] == 3
    only = client.get("/api/v1/departments?region=330402,330400").get_json()
    assert names(only) == {"nh-wjj", "jx-jtysj"}


def test_themes_have_published_counts(client, catalogue):
    body = client.get("/api/v1/themes").get_json()
    assert {t["name"]: t["dataset_count"] for t in body["items"]} == {"jtcx": 4, "ylws": 1}


def test_counties_give_codes_and_latest_population(client, app):
    nanhu = next(r for r in population.counties() if r.code == "330402")
    population.set_population(nanhu, year=2024, population=900_000, source="统计公报", by=None)
    db.session.commit()
    body = client.get("/api/v1/counties").get_json()
    assert body["total"] == 8
    city, *counties = body["items"]
    assert (city["code"], city["level"]) == ("330400", "city")
    first = counties[0]
    assert (first["code"], first["name"], first["population"], first["population_year"]) == (
        "330402",
        "南湖区",
        900_000,
        2024,
    )


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_a_valid_token_authenticates_the_call(client, catalogue, header):
    user = make_user()
    token, plain = tokens.create_token(user, "测试令牌")
    db.session.commit()
    value = f"Bearer {plain}" if header == "Authorization" else plain
    response = client.get("/api/v1/datasets/api-dataset-001", headers={header: value})
    assert response.status_code == 200
    event = db.session.scalar(select(ActivityEvent).where(ActivityEvent.kind == "api_call"))
    assert event.user_id == user.id
    db.session.refresh(token)
    assert token.last_used_at is not None


@pytest.mark.parametrize("problem", ["unknown", "revoked", "deactivated"])
def test_a_bad_token_is_refused_not_taken_as_anonymous(client, catalogue, problem):
    user = make_user()
    token, plain = tokens.create_token(user, "令牌")
    if problem == "unknown":
        plain = tokens.TOKEN_PREFIX + "x" * 43
    elif problem == "revoked":
        tokens.revoke(token, by=user)
    else:
        user.active = False
    db.session.commit()
    response = client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_each_call_records_an_api_call_event_with_its_dataset(client, catalogue):
    client.get("/api/v1/datasets")
    client.get("/api/v1/datasets/api-dataset-003")
    events = db.session.execute(
        select(ActivityEvent.kind, ActivityEvent.dataset_id, ActivityEvent.path).order_by(ActivityEvent.id)
    ).all()
    dataset_id = db.session.scalar(select(Dataset.id).where(Dataset.name == "api-dataset-003"))
    assert [(e.kind, e.dataset_id) for e in events] == [("api_call", None), ("api_call", dataset_id)]


def test_unknown_api_path_is_a_json_404(client, app):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_anonymous_callers_are_limited_per_address_and_token_callers_per_token(app, make_app, catalogue):
    user = make_user()
    _, plain = tokens.create_token(user, "令牌")
    db.session.commit()
    limited = make_app(
        RATELIMIT_ENABLED=True, API_RATELIMIT_ANONYMOUS="2 per minute", API_RATELIMIT_TOKEN="3 per minute"
    )
    client = limited.test_client()
    assert [client.get("/api/v1/themes").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/api/v1/datasets")  # the budget is shared by every API route
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == 429
    assert client.get("/api/3/action/status_show").status_code == 429  # and by the CKAN-compatible API
    bearer = {"Authorization": f"Bearer {plain}"}
    assert [client.get("/api/v1/themes", headers=bearer).status_code for _ in range(4)] == [
        200,
        200,
        200,
        429,
    ]
