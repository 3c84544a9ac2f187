"""A statement on a cursor lent outside the request's session (catalogue/changes.raw_cursor: kept catalogue
pages, the dataset page of a visitor not signed in) is bounded as the session's statements are, and stopped
by the bound it answers 503, not a 500 of the driver's own exception (found in review of c6417fb)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from catalogue_factories import make_dataset
from testconfig import ON_POSTGRES

from portal import dbtimeout
from portal.catalogue import changes
from portal.extensions import db


def _count_to(n: int) -> str:
    numbers = f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n})"
    return numbers + " SELECT count(*) FROM c"


SLOW = _count_to(10_000_000)  # seconds on either database, far past the bounds below


def test_a_lent_cursors_statement_past_the_bound_is_a_timeout_as_sqlalchemy_raises_it(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=50)
    with app.test_request_context("/datasets/"):
        with pytest.raises(sa.exc.OperationalError) as raised:
            with changes.raw_cursor() as cursor:
                cursor.execute(SLOW)
        assert dbtimeout.is_timeout(raised.value)


def test_a_lent_cursor_in_a_request_with_a_short_budget_left_is_bounded_by_it(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=0, DB_REQUEST_BUDGET_MS=50)
    with app.test_request_context("/datasets/"):
        dbtimeout._start_request()  # the before-request hook the app runs
        with pytest.raises(sa.exc.OperationalError) as raised:
            with changes.raw_cursor() as cursor:
                cursor.execute(SLOW)
        assert dbtimeout.is_timeout(raised.value)


def test_a_lent_cursor_outside_requests_is_not_bounded(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=50)
    with app.test_request_context("/datasets/"):  # leaves a SQLite connection a deadline in the pool
        with changes.raw_cursor() as cursor:
            cursor.execute("SELECT 1")
    with app.app_context():  # the CLI, the sync and jobs run like this
        with changes.raw_cursor() as cursor:
            cursor.execute(_count_to(300_000))
            assert cursor.fetchone()[0] == 300_000


def test_other_driver_errors_are_raised_as_sqlalchemy_raises_them(make_app):
    app = make_app()
    with app.app_context():
        with pytest.raises(sa.exc.ProgrammingError if ON_POSTGRES else sa.exc.OperationalError):
            with changes.raw_cursor() as cursor:
                cursor.execute("SELECT no_such_column FROM datasets")


@pytest.mark.skipif(not ON_POSTGRES, reason="a table lock another session holds is PostgreSQL's to wait on")
def test_pages_read_on_a_lent_cursor_answer_503_while_their_table_is_locked(make_app, database_url):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=300)
    with app.app_context():
        name = make_dataset().name
        db.session.commit()
    client = app.test_client()
    assert client.get(f"/datasets/{name}").status_code == 200
    locker = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        with locker.begin() as conn:
            conn.execute(sa.text("LOCK TABLE datasets IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        for url in (f"/datasets/{name}", "/datasets/"):
            response = client.get(url)
            assert response.status_code == 503, url
            assert response.headers["Retry-After"]
    finally:
        release.set()
        holder.join()
        locker.dispose()
    assert client.get(f"/datasets/{name}").status_code == 200


def test_each_statement_on_a_lent_sqlite_cursor_gets_its_own_deadline(make_app):
    if ON_POSTGRES:
        pytest.skip("SQLite's deadline; PostgreSQL's bound is the server's (next test)")
    app = make_app(DB_STATEMENT_TIMEOUT_MS=60_000)
    with app.test_request_context("/datasets/"):
        with changes.raw_cursor() as cursor:
            cursor.execute("SELECT 1")
            first = cursor._deadline.at
            cursor.execute("SELECT 1")
            assert cursor._deadline.at > first


@pytest.mark.skipif(not ON_POSTGRES, reason="pg_sleep; SQLite's deadline is set per statement (above)")
def test_later_statements_on_a_lent_cursor_are_bounded_by_the_budget_left(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=1000, DB_REQUEST_BUDGET_MS=1500)
    with app.test_request_context("/datasets/"):
        dbtimeout._start_request()
        with pytest.raises(sa.exc.OperationalError) as raised:
            with changes.raw_cursor() as cursor:
                for _ in range(3):  # each within the statement bound, all three past the budget
                    cursor.execute("SELECT pg_sleep(0.6)")
        assert dbtimeout.is_timeout(raised.value)


def test_an_anonymous_page_of_an_unknown_dataset_holds_one_pooled_connection_at_a_time(make_app):
    app = make_app()
    held = []
    with app.app_context():
        engine = db.engine

    def checked_out(*_):
        held.append(engine.pool.checkedout())

    sa.event.listen(engine, "checkout", checked_out)
    try:
        assert app.test_client().get("/datasets/no-such-dataset").status_code == 404
    finally:
        sa.event.remove(engine, "checkout", checked_out)
    assert held and max(held) == 1, held
