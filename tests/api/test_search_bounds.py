"""Every search's cost is bounded at the edge, text goes through the full-text index, and a
statement past DB_STATEMENT_TIMEOUT_MS answers 503 instead of holding a worker (issue 13, item 1)."""

from __future__ import annotations

import pytest
from api_factories import package, publish
from flask import request
from sqlalchemy import Engine, event, text

from portal import dbtimeout
from portal.api import ckan, solr
from portal.catalogue import search
from portal.extensions import db

SEARCH = "/api/3/action/package_search"


def _count_to(n: int) -> str:
    numbers = f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n})"
    return numbers + " SELECT count(*) FROM c"


SLOW = _count_to(10_000_000)  # seconds on either database, far past the 50 ms bound


@pytest.fixture
def catalogue(app, tmp_path):
    publish(
        tmp_path,
        [
            package(1, title="海宁市公交站点", tags=("公交", "站点")),
            package(2, title="嘉兴市交通运输行政许可", org="jx-jtysj", tags=("许可",)),
            package(3, title="南湖区医疗机构名录", org="nh-wjj", groups=("ylws",), tags=("医院",)),
        ],
    )


def _search(client, **body):
    response = client.post(SEARCH, json=body)
    return response.status_code, response.get_json()


@pytest.mark.parametrize("key", ["q", "fq", "sort"])
def test_package_search_refuses_a_parameter_past_its_length(client, catalogue, key):
    status, body = _search(client, **{key: "a" * (solr.MAX_LENGTH + 1)})
    assert status == 409
    assert body["error"] == {"__type": "Validation Error", key: ["Must be at most 1000 characters long"]}


@pytest.mark.parametrize(
    "q, reason",
    [
        (" ".join(f"tags:t{n}" for n in range(solr.MAX_CLAUSES + 1)), "too many boolean clauses"),
        (" OR ".join(f"词{n}" for n in range(solr.MAX_TEXT_TERMS + 1)), "too many free-text terms"),
        (" ".join(f"title:t{n}" for n in range(solr.MAX_TEXT_TERMS + 1)), "too many free-text terms"),
        ("(" * (solr.MAX_DEPTH + 1) + "交通" + ")" * (solr.MAX_DEPTH + 1), "nested too deeply"),
        ("NOT " * (solr.MAX_DEPTH + 1) + "交通", "nested too deeply"),
        ("-" * 400 + "a", "nested too deeply"),
        ("res_name:a extras_x:b update_frequency:每月", "too many clauses on res_name or extras"),
        ("(" * 490 + "a" + ")" * 490, "nested too deeply"),  # within the length: no RecursionError
    ],
)
def test_package_search_refuses_queries_past_their_bounds_as_search_errors(client, catalogue, q, reason):
    for key in ("q", "fq"):
        status, body = _search(client, **{key: q})
        assert status == 409, body
        assert body["error"]["__type"] == "Search Error"
        assert reason in body["error"]["message"]


def test_package_search_takes_queries_at_their_bounds(client, catalogue):
    q = "(" * (solr.MAX_DEPTH - 1) + " OR ".join(["交通"] * solr.MAX_TEXT_TERMS) + ")" * (solr.MAX_DEPTH - 1)
    status, body = _search(
        client, q=q, fq=" OR ".join(f"tags:t{n}" for n in range(solr.MAX_CLAUSES - 1)) + " OR tags:许可"
    )
    assert status == 200, body
    assert [r["name"] for r in body["result"]["results"]] == ["api-dataset-002"]


def test_package_search_refuses_too_many_sort_keys_and_filters(client, catalogue):
    status, body = _search(client, sort=", ".join(["name asc"] * (solr.MAX_SORT_KEYS + 1)))
    assert (status, body["error"]["__type"]) == (400, "Search Query Error")
    status, body = _search(client, sort=", ".join(["name asc"] * solr.MAX_SORT_KEYS))
    assert status == 200
    status, body = _search(client, fq_list=["tags:公交"] * (solr.MAX_FILTERS + 1))
    assert (status, body["error"]["fq_list"]) == (409, ["Must hold at most 10 filters"])
    status, body = _search(client, fq_list=[{"q": 1}])
    assert (status, body["error"]["fq_list"]) == (409, ["Must be a list of strings"])


def _statements(client, **body) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        status, answer = _search(client, **body)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert status == 200, answer
    return seen


@pytest.mark.parametrize(
    "body",
    [
        {"q": "交通 OR 医疗"},
        {"q": "title:许可 notes:数据集 text:南湖"},
        {"q": "公交", "sort": "score desc, name asc"},
    ],
)
def test_free_text_is_looked_up_in_the_full_text_index_never_by_like(client, catalogue, body):
    statements = _statements(client, **body)
    assert not [s for s in statements if " LIKE " in s.upper()]
    index = " @@ " if db.engine.dialect.name == "postgresql" else "dataset_search_fts MATCH"
    assert any(index in s for s in statements)


def test_free_text_finds_and_ranks_through_the_index(client, catalogue):
    _, body = _search(client, q="许可 OR 医疗")
    assert {r["name"] for r in body["result"]["results"]} == {"api-dataset-002", "api-dataset-003"}
    _, body = _search(client, q="title:医疗")
    assert [r["name"] for r in body["result"]["results"]] == ["api-dataset-003"]


@pytest.mark.parametrize(
    "query, status",
    [
        ("tag=" + "&tag=".join(f"t{n}" for n in range(search.MAX_FILTER_VALUES + 1)), 400),
        ("tag=" + "&tag=".join(f"t{n}" for n in range(search.MAX_FILTER_VALUES)), 200),
        ("q=" + "交" * (search.MAX_Q + 1), 400),
        ("q=" + "交" * search.MAX_Q, 200),
        ("page=%C2%B2", 400),
        ("page=" + "9" * 40, 400),
    ],
)
def test_api_v1_search_refuses_past_its_bounds(client, catalogue, query, status):
    response = client.get(f"/api/v1/datasets?{query}")
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["error"]["code"] == 400


def test_catalogue_page_uses_a_bounded_number_of_filter_values(client, catalogue):
    tags = "&".join(f"tag=t{n}" for n in range(500))
    assert client.get(f"/datasets/?{tags}").status_code == 200
    query = search.normalise(search.SearchQuery(tags=tuple(f"t{n}" for n in range(500))))
    assert len(query.tags) == search.MAX_FILTER_VALUES


@pytest.mark.parametrize("page", ["²", "١٢", "9" * 40, "1_0", "-1"])
def test_catalogue_page_reads_a_malformed_page_as_the_first(client, catalogue, page):
    response = client.get("/datasets/", query_string={"page": page})
    assert response.status_code == 200
    assert 'data-total="3"' in response.get_data(as_text=True)


@pytest.fixture
def slow_app(make_app):
    """An app bounding statements at 50 ms, with routes that run a statement of seconds."""
    app = make_app(DB_STATEMENT_TIMEOUT_MS=50)
    app.add_url_rule("/slow", "slow", lambda: str(db.session.scalar(text(SLOW))))
    app.add_url_rule("/api/v1/slow", "api_slow", lambda: {"n": db.session.scalar(text(SLOW))})
    return app


def test_a_statement_past_the_timeout_answers_503_not_a_hang(slow_app):
    client = slow_app.test_client()
    page = client.get("/slow")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert page.headers["Retry-After"]
    api = client.get("/api/v1/slow")
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == 503


def test_a_ckan_action_past_the_timeout_answers_in_ckans_envelope(slow_app, monkeypatch):
    monkeypatch.setitem(ckan.ACTIONS, "status_show", lambda params: db.session.scalar(text(SLOW)))
    response = slow_app.test_client().get("/api/3/action/status_show")
    assert response.status_code == 503
    assert response.get_json()["error"]["__type"] == "Search Error"
    assert response.get_json()["success"] is False


def test_the_connection_serves_again_after_a_timeout(slow_app):
    client = slow_app.test_client()
    assert client.get("/slow").status_code == 503
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/3/action/package_search").status_code == 200


def test_work_outside_requests_is_not_bounded(slow_app):
    with slow_app.app_context():  # the CLI, the sync and jobs run like this
        assert db.session.scalar(text(_count_to(300_000))) == 300_000
        db.session.remove()


def test_work_for_the_whole_process_runs_unbounded_and_the_bound_comes_back(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=1)

    def build_then_search():
        with dbtimeout.unbounded(db.session.connection()):  # as the facet index is built
            counted = db.session.scalar(text(_count_to(300_000)))
        if request.args.get("again"):
            db.session.scalar(text(_count_to(300_000)))
        return str(counted)

    app.add_url_rule("/build", "build", build_then_search)
    client = app.test_client()
    assert client.get("/build").get_data(as_text=True) == "300000"
    assert client.get("/build?again=1").status_code == 503
