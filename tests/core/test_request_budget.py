"""A web request's SQL statements share one time budget from the request's start
(DB_REQUEST_BUDGET_MS), on top of each statement's own bound (issue 13, item 1): a search
of many statements, each within DB_STATEMENT_TIMEOUT_MS, cannot hold a worker for their sum."""

from __future__ import annotations

import time

import pytest
from flask import request
from sqlalchemy import text

from portal import dbtimeout
from portal.extensions import db


def _count_to(n: int) -> str:
    numbers = f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n})"
    return numbers + " SELECT count(*) FROM c"


STEP = _count_to(100_000)  # milliseconds to tens of them on either database: far within a statement's bound


def _many_statements(app, times: int) -> None:
    def run():
        for _ in range(int(request.args.get("n", times))):
            db.session.scalar(text(STEP))
        return "done"

    app.add_url_rule("/many", "many", run)
    app.add_url_rule("/api/v1/many", "api_many", lambda: {"result": run()})


def test_statements_within_their_bound_are_stopped_when_together_they_pass_the_budget(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=5000, DB_REQUEST_BUDGET_MS=500)
    _many_statements(app, 1000)  # ten seconds or more in all, each statement far below 5 s
    client = app.test_client()
    began = time.monotonic()
    page = client.get("/many")
    took = time.monotonic() - began
    assert page.status_code == 503 and page.mimetype == "text/html" and page.headers["Retry-After"]
    assert took < 4  # the budget (0.5 s) and slack for a loaded machine, not the statements' sum
    api = client.get("/api/v1/many")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == 503


def test_each_request_has_a_budget_of_its_own(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=5000, DB_REQUEST_BUDGET_MS=1500)
    _many_statements(app, 1)
    client = app.test_client()
    assert client.get("/many?n=3000").status_code == 503
    for _ in range(3):  # neither the stopped request's budget nor a lowered bound stays behind
        assert client.get("/many").get_data(as_text=True) == "done"
    assert client.get("/healthz").status_code == 200


def test_without_a_budget_only_each_statement_is_bounded(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=5000, DB_REQUEST_BUDGET_MS=0)
    _many_statements(app, 5)
    assert app.test_client().get("/many").get_data(as_text=True) == "done"


def test_work_run_unbounded_for_the_whole_process_is_not_charged_to_the_request(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=5000, DB_REQUEST_BUDGET_MS=200)

    def build_then_search():
        with dbtimeout.unbounded(db.session.connection()):  # as the facet index is built
            for _ in range(20):  # longer than the whole budget
                db.session.scalar(text(STEP))
        return str(db.session.scalar(text("SELECT 1")))

    app.add_url_rule("/build", "build", build_then_search)
    assert app.test_client().get("/build").get_data(as_text=True) == "1"


def test_outside_a_request_nothing_is_bounded(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=1, DB_REQUEST_BUDGET_MS=1)
    with app.app_context():  # the CLI, the sync, jobs
        assert dbtimeout.remaining_ms() is None
        assert db.session.scalar(text(_count_to(300_000))) == 300_000


def test_a_malformed_budget_is_refused_at_start_up(make_app):
    for bad in (-1, "5000", True):
        with pytest.raises(ValueError, match="DB_REQUEST_BUDGET_MS"):
            make_app(DB_REQUEST_BUDGET_MS=bad)
