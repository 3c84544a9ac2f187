"""A pooled PostgreSQL connection the server closed (its backend terminated, the server restarted) is
replaced at checkout, before a request uses it, without the pool's pre-ping round trip (issue 16):
the next requests answer 200, never 500."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from testconfig import ON_POSTGRES

from portal import dbtimeout
from portal.extensions import db


def _backend_route(app) -> None:
    def backend():
        return {"pid": db.session.scalar(text("SELECT pg_backend_pid()"))}

    app.add_url_rule("/backend", "backend", backend)


def _terminate(database_url: str, pids: set[int]) -> None:
    admin = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # the backends are gone (and their goodbye sent) once pg_stat_activity says so
            left = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(pids)}
            ).scalar()
            if not left:
                break
            time.sleep(0.05)
    admin.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="backends to terminate are PostgreSQL's")
def test_requests_after_the_pooled_backends_were_terminated_answer(make_app, database_url):
    app = make_app()
    _backend_route(app)
    client = app.test_client()
    pids = {client.get("/backend").get_json()["pid"] for _ in range(3)}
    assert client.get("/api/3/action/package_list").status_code == 200
    _terminate(database_url, pids)
    after = client.get("/backend")
    assert after.status_code == 200 and after.get_json()["pid"] not in pids
    assert client.get("/api/3/action/package_list").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    with app.app_context():  # work outside a request (the CLI, jobs) gets a live connection as well
        _terminate(database_url, {client.get("/backend").get_json()["pid"]})
        assert db.session.scalar(text("SELECT 1")) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="the check is PostgreSQL's; SQLite has no server to lose")
def test_a_live_idle_connection_is_not_taken_for_lost(make_app):
    app = make_app()
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            assert not dbtimeout.lost(raw.driver_connection)
            raw.driver_connection.close()
            assert dbtimeout.lost(raw.driver_connection)
        finally:
            raw.invalidate()


def test_the_pool_does_not_ping(make_app):
    app = make_app()
    with app.app_context():
        assert not db.engine.pool._pre_ping
