"""/healthz, /readyz and /metrics: what load balancers and Prometheus read; JSON logs with request ids."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text

from portal.extensions import db
from portal.jobs import queue
from portal.ops import health, logs


def test_healthz_says_alive_and_names_the_node(make_app):
    app = make_app(NODE_NAME="node-东")
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "node": "node-东"}


def test_readyz_is_ready_when_the_database_is_at_head_and_storage_answers(app, client):
    answer = client.get("/readyz")
    body = answer.get_json()
    assert answer.status_code == 200 and body["ready"] is True
    assert body["checks"]["database"]["state"] == "ok"
    assert body["checks"]["storage"]["state"] == "ok"
    assert body["checks"]["redis"]["state"] == "not configured"


def test_readyz_says_jobs_are_delayed_but_stays_ready_when_redis_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    answer = app.test_client().get("/readyz")
    body = answer.get_json()
    assert answer.status_code == 200 and body["ready"] is True
    assert body["checks"]["redis"]["state"] == "down"
    assert body["checks"]["redis"]["detail"].startswith("jobs are delayed")
    assert app.test_client().get("/datasets/").status_code == 200  # the site still serves pages


def test_readyz_reports_redis_ok_when_it_answers(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/9")
    assert app.test_client().get("/readyz").get_json()["checks"]["redis"]["state"] == "ok"


def test_readyz_is_not_ready_when_the_database_is_behind_the_migrations(app, client):
    version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        database = answer.get_json()["checks"]["database"]
        assert database["state"] == "behind" and "0001" in database["detail"]
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        db.session.commit()


def test_readyz_is_not_ready_when_storage_fails():
    class Broken:
        def exists(self, key):
            raise OSError("disk gone")

    ready, checks = health.readiness({"storage": health.storage(Broken()), "redis": health.redis(None)})
    assert ready is False and checks["storage"] == {
        "state": "down",
        "detail": "OSError: disk gone",
        "required": True,
    }


def test_metrics_show_request_latency_jobs_queues_and_lags(app, client, redis_url):
    app.config["REDIS_URL"] = redis_url
    queue.enqueue("metrics.rollup")
    app.config["REDIS_URL"] = None
    queue.enqueue("metrics.rollup")  # in-process: finished
    app.config["REDIS_URL"] = redis_url
    client.get("/datasets/")
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    body = answer.get_data(as_text=True)
    assert 'portal_request_duration_seconds_count{endpoint="catalogue.index",method="GET"}' in body
    assert 'portal_requests_total{endpoint="catalogue.index",method="GET",status="200"}' in body
    assert 'portal_jobs{job="metrics.rollup",state="queued"} 1.0' in body
    assert 'portal_jobs{job="metrics.rollup",state="finished"} 1.0' in body
    assert 'portal_job_duration_seconds_count{job="metrics.rollup"} 1.0' in body
    assert 'portal_queue_depth{queue="default"} 1.0' in body
    assert "portal_redis_up 1.0" in body
    assert "portal_rollup_lag_seconds" in body


@pytest.mark.parametrize("address", ["203.0.113.9", "10.0.0.8", "not-an-address"])
def test_metrics_are_hidden_from_other_networks(app, client, address):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == 404


def test_metrics_answer_networks_allowed_by_the_setting(make_app):
    app = make_app(METRICS_ALLOWED_NETWORKS=("10.0.0.0/8",))
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_health_and_metrics_stay_outside_the_api_and_its_limits(make_app, path):
    app = make_app(RATELIMIT_ENABLED=True, API_RATELIMIT_ANONYMOUS="1 per minute")
    client = app.test_client()
    assert [client.get(path).status_code for _ in range(3)] == [200] * 3


def test_every_answer_carries_a_request_id_and_keeps_a_proxys_one(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "nginx-4f2a9c1d"}).headers["X-Request-ID"]
    assert kept == "nginx-4f2a9c1d"
    for hostile in ('x"} {"level": "forged', "a" * 65, "短"):
        answered = client.get("/healthz", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert answered != hostile and len(answered) == 32


def test_log_lines_are_json_with_the_node_and_the_request_id(app):
    record = logging.LogRecord("portal", logging.WARNING, __file__, 1, "同步 %s", ("失败",), None)
    with app.test_request_context("/", headers={"X-Request-ID": "req-12345678"}):
        app.preprocess_request()
        logs.RequestContext("node-1").filter(record)
    line = json.loads(logs.JsonLines().format(record))
    assert line["message"] == "同步 失败"
    assert (line["level"], line["node"], line["request_id"]) == ("WARNING", "node-1", "req-12345678")


def test_with_redis_down_the_api_and_sign_in_still_answer_counting_in_memory(make_app):
    app = make_app(
        REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="2 per minute"
    )
    client = app.test_client()
    assert client.get("/api/v1/datasets").status_code == 200
    assert client.get("/api/3/action/package_list").status_code == 200
    tries = [
        client.post("/account/sign-in", data={"email": "无@example.cn", "password": "x"}).status_code
        for _ in range(3)
    ]
    assert tries == [400, 400, 429]  # refused, then limited: never a 500
