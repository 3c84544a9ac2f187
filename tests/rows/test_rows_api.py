"""/api/v1/datasets/<name>/resources/<id>/rows: pages, filters, exports, the rules (masking, grants,
metering), and fuzzing of its OpenAPI operations against a loaded table."""

from __future__ import annotations

import csv
import io
import json

import pytest
import schemathesis
from factories import make_user
from hypothesis import HealthCheck, given, settings
from openpyxl import load_workbook
from rows_factories import CONDITIONAL_TABLE, STOPS, TOILETS, stop_records
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import func, select

from portal import clock
from portal.accounts import tokens, usage
from portal.activity.models import ActivityEvent
from portal.api import openapi
from portal.catalogue.models import APPROVED, AccessRequest, Dataset
from portal.extensions import db

ROWS = f"/api/v1/datasets/rows-dataset-1/resources/{STOPS}/rows"
RECORDS = [{"_id": n, **r} for n, r in enumerate(stop_records(), start=1)]


def test_a_page_of_rows_in_the_portals_shape(client, synced):
    body = client.get(ROWS, query_string={"per_page": 10, "page": 2}).get_json()
    assert (body["page"], body["per_page"], body["total"]) == (2, 10, 250)
    assert body["items"] == RECORDS[10:20]
    assert body["fields"][0] == {"id": "_id", "type": "int", "masked": False}


def test_filter_search_and_sort_as_datastore_search(client, synced):
    filters = json.dumps({"线路": ["1路", "K3路"]}, ensure_ascii=False)
    body = client.get(
        ROWS, query_string={"filters": filters, "q": "南湖", "sort": "座位数 desc, _id"}
    ).get_json()
    expected = [r for r in RECORDS if r["线路"] in ("1路", "K3路") and "南湖" in r["站点名称"]]
    expected.sort(key=lambda r: (-r["座位数"], r["_id"]))
    assert body["total"] == len(expected) and body["items"] == expected[:100]


def test_per_page_is_clamped_to_1000(client, synced):
    body = client.get(ROWS, query_string={"per_page": 5000}).get_json()
    assert body["per_page"] == 1000 and len(body["items"]) == 250


@pytest.mark.parametrize(
    "params",
    [
        {"filters": "{"},
        {"filters": '{"没有": 1}'},
        {"sort": "没有"},
        {"fields": "没有"},
        {"fields": "\r"},  # a blank name: no column to select (was a 500)
        {"fields": " , "},
        {"page": "0"},
        {"page": "x"},
    ],
)
def test_bad_parameters_are_a_400_naming_them(client, synced, params):
    exports = [] if "page" in params else [f"{ROWS}/export"]  # an export has no pages
    for url in [ROWS, *exports]:
        response = client.get(url, query_string=params)
        assert response.status_code == 400
        assert next(iter(params)) in response.get_json()["error"]["message"]


def test_unknown_withdrawn_and_unloaded_answer_404_or_410(client, synced):
    assert client.get(f"/api/v1/datasets/nothing/resources/{STOPS}/rows").status_code == 404
    assert client.get(f"/api/v1/datasets/rows-dataset-2/resources/{STOPS}/rows").status_code == 404
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == "rows-dataset-1"))
    dataset.state = "withdrawn"
    db.session.commit()
    assert client.get(ROWS).status_code == 410
    assert client.post("/api/3/action/datastore_search", json={"resource_id": STOPS}).status_code == 404


def test_exports_stream_the_whole_filtered_selection(client, synced):
    filters = json.dumps({"线路": "快速公交"}, ensure_ascii=False)
    expected = [r for r in RECORDS if r["线路"] == "快速公交"]
    response = client.get(f"{ROWS}/export", query_string={"format": "csv", "filters": filters})
    assert response.status_code == 200 and response.is_streamed
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0] == ["_id", "站点名称", "线路", "座位数", "经度", "启用时间"]
    assert [int(row[0]) for row in table[1:]] == [r["_id"] for r in expected]
    response = client.get(f"{ROWS}/export", query_string={"format": "json", "filters": filters})
    assert json.loads(response.get_data(as_text=True)) == expected
    response = client.get(f"{ROWS}/export", query_string={"format": "xlsx", "fields": "_id,站点名称"})
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("_id", "站点名称") and len(values) == 251 and values[1] == (1, "秀洲区站点1")
    assert client.get(f"{ROWS}/export", query_string={"format": "pdf"}).status_code == 400


def test_exports_stop_at_the_configured_most(app, client, synced):
    app.config["ROWS_EXPORT_MAX_RECORDS"] = 7
    body = client.get(f"{ROWS}/export", query_string={"format": "json"}).get_json()
    assert [r["_id"] for r in body] == [1, 2, 3, 4, 5, 6, 7]


def test_personal_columns_are_masked_in_pages_and_exports(client, synced):
    url = f"/api/v1/datasets/rows-dataset-2/resources/{TOILETS}/rows"
    body = client.get(url).get_json()
    assert [r["管理员电话"] for r in body["items"]] == ["138****5678", "139****4321", None]
    assert body["fields"][2] == {"id": "管理员电话", "type": "text", "masked": True}
    exported = client.get(f"{url}/export", query_string={"format": "csv"}).get_data(as_text=True)
    assert "13812345678" not in exported and "138****5678" in exported


def _grant(user, name: str) -> None:
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name))
    db.session.add(AccessRequest(user_id=user.id, dataset_id=dataset.id, purpose="研究", status=APPROVED))
    db.session.commit()


CONDITIONAL_ROWS = f"/api/v1/datasets/rows-dataset-3/resources/{CONDITIONAL_TABLE}/rows"


@pytest.mark.parametrize(
    ("role", "granted", "status"),
    [
        (None, False, 403),
        ("developer", False, 403),
        ("developer", True, 200),
        ("county_member", False, 403),
        ("judge", False, 403),
        ("admin", False, 200),
    ],
)
def test_conditional_rows_need_a_grant(client, login, synced, role, granted, status):
    if role is not None:
        user = login(role)
        if granted:
            _grant(user, "rows-dataset-3")
    assert client.get(CONDITIONAL_ROWS).status_code == status
    ckan = client.post("/api/3/action/datastore_search", json={"resource_id": CONDITIONAL_TABLE})
    assert ckan.status_code == status
    with client.get(f"{CONDITIONAL_ROWS}/export") as export:  # closed: an open stream holds its table
        assert export.status_code == status


def test_a_granted_developers_token_reads_conditional_rows_and_each_call_is_metered(app, client, synced):
    user = make_user(role="developer")
    db.session.commit()
    _, plain = tokens.create_token(user, "脚本")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get(CONDITIONAL_ROWS, headers=headers).status_code == 403
    _grant(user, "rows-dataset-3")
    assert client.get(CONDITIONAL_ROWS, headers=headers).get_json()["total"] == 2
    ckan = client.post(
        "/api/3/action/datastore_search", json={"resource_id": CONDITIONAL_TABLE}, headers=headers
    )
    assert ckan.get_json()["result"]["total"] == 2
    calls = db.session.scalar(
        select(func.count()).where(ActivityEvent.kind == "api_call", ActivityEvent.user_id == user.id)
    )
    assert calls == 3  # the refusal, the page and the CKAN call
    dataset_id = db.session.scalar(select(Dataset.id).where(Dataset.name == "rows-dataset-3"))
    assert (
        db.session.scalar(
            select(func.count()).where(
                ActivityEvent.kind == "api_call", ActivityEvent.dataset_id == dataset_id
            )
        )
        == 3
    )


def test_row_calls_and_rows_returned_count_toward_the_tokens_day(app, client, synced):
    """Behaviour monitoring (issue 15 item 5): pages, exports (as their stream ends), datastore_search."""
    user = make_user(role="developer")
    token, plain = tokens.create_token(user, "监测")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    assert len(client.get(ROWS, query_string={"per_page": 10}, headers=headers).get_json()["items"]) == 10
    export = client.get(f"{ROWS}/export", query_string={"format": "json"}, headers=headers)
    assert len(json.loads(export.get_data(as_text=True))) == 250
    ckan = {"resource_id": STOPS, "limit": 3, "records_format": "csv"}
    assert client.post("/api/3/action/datastore_search", json=ckan, headers=headers).status_code == 200
    assert client.get(ROWS, query_string={"page": "x"}, headers=headers).status_code == 400  # not counted
    db.session.expire_all()
    assert usage.of_user(user.id, clock.today()) == {token.id: usage.Tally(row_calls=3, rows=10 + 250 + 3)}


def test_rows_draw_on_the_callers_row_budget(make_app, synced):
    app = make_app(RATELIMIT_ENABLED=True, API_RATELIMIT_ANONYMOUS_ROWS="25 per minute")
    client = app.test_client()
    assert client.get(ROWS, query_string={"per_page": 1000}).status_code == 200  # costs 10 rows
    assert client.get(ROWS, query_string={"per_page": 1000}).status_code == 200
    assert client.get(ROWS, query_string={"per_page": 1000}).status_code == 429


def test_fuzzed_rows_requests_get_documented_answers(app, client, synced):
    schema = schemathesis.openapi.from_dict(openapi.document(app))
    operations = [r.ok() for r in schema.get_all_operations()]
    path = {"name": "rows-dataset-1", "resource_id": STOPS}
    for operation in [o for o in operations if "rows" in o.definition.raw.get("tags", [])]:

        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(path_parameters=path))
        def run(case):
            case.call_and_validate(
                app=app,
                session=client,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        run()


def test_a_signed_in_users_calls_count_toward_their_day_and_a_refused_token_never_does(client, login, synced):
    """Without a token, the session's user is metered (token 0); a refused token is never taken for
    the session's user (metering.py `_caller` reads the request's one reading of its token)."""
    user = login("developer")
    search = {"resource_id": STOPS, "limit": 2}
    assert client.get("/api/3/action/datastore_search", query_string=search).status_code == 200
    assert client.get(ROWS, query_string={"per_page": 3}).status_code == 200
    refused = {"Authorization": "Bearer not-a-token"}
    assert client.get(ROWS, query_string={"per_page": 3}, headers=refused).status_code == 401
    answer = client.get("/api/3/action/datastore_search", query_string=search, headers=refused)
    assert answer.status_code == 403
    db.session.expire_all()
    assert usage.of_user(user.id, clock.today()) == {0: usage.Tally(row_calls=2, rows=2 + 3)}
