"""A rows call's statements run on the driver's cursor of the session's connection (rows/direct.py), as
SQLAlchemy runs them: the same values (its types' processors applied), the engine's hooks called (the
statement bound, the tests' statement lists), a driver's error raised as SQLAlchemy's; for a fraction
of SQLAlchemy's Python calls (issue 16)."""

from __future__ import annotations

import decimal
import json

import pytest
import sqlalchemy as sa
from calls import python_calls
from rows_factories import loaded_csv

from portal import dbtimeout
from portal.extensions import db
from portal.rows import direct, query

ROWS = 300


@pytest.fixture
def table(app):
    data = "名称,线路,数量\n" + "".join(f"站{n},{n % 7}路,{n}\n" for n in range(1, ROWS + 1))
    with loaded_csv(data) as loaded:
        yield loaded


def _statements():
    one, two = sa.literal_column("1"), sa.literal_column("2")
    return [
        sa.select(sa.cast(one, sa.Boolean), sa.cast(sa.literal_column("0"), sa.Boolean)),
        sa.select(sa.cast(sa.literal_column("1.5"), sa.Float(53)), sa.cast(two, sa.Integer)),
        sa.select(sa.cast(sa.literal_column("1.25"), sa.Numeric(10, 2))),
        sa.select(sa.cast(sa.literal_column("2.5"), sa.Numeric(10, 2, asdecimal=False))),
        sa.select(sa.bindparam("b", type_=sa.Boolean), sa.bindparam("n", type_=sa.Integer) + 1),
        sa.select(sa.literal_column("'x'") == sa.bindparam("s", type_=sa.String)).limit(3),
    ]


@pytest.mark.parametrize("index", range(len(_statements())))
def test_values_are_sqlalchemys(app, index):
    """Booleans (SQLite's integers), floats and decimals come back as SQLAlchemy gives them; a boolean
    parameter is bound as SQLAlchemy binds it."""
    statement = _statements()[index]
    params = {"b": True, "n": 4, "s": "x"}
    conn = db.session.connection()
    expected = [tuple(row) for row in conn.execute(statement, params).all()]
    assert direct.rows(conn, statement, params) == expected
    found = direct.rows(conn, statement, params)  # prepared once, the same again
    assert found == expected
    assert [[type(v) for v in row] for row in found] == [[type(v) for v in row] for row in expected]
    if index == 2:
        assert found == [(decimal.Decimal("1.25"),)]


def test_a_missing_parameter_is_refused_as_sqlalchemy_refuses_it(app):
    """Never sent as NULL (which would match a NULL row, or nothing, silently)."""
    conn = db.session.connection()
    statement = sa.select(sa.literal_column("1")).where(sa.bindparam("x", type_=sa.Integer).is_(None))
    with pytest.raises(sa.exc.ArgumentError, match="'x'"):
        direct.rows(conn, statement, {})
    with pytest.raises(sa.exc.ArgumentError, match="'x'"):
        direct.rows(conn, statement, {"X": 1})
    assert direct.rows(conn, statement, {"x": None}) == [(1,)]


def test_the_engine_hooks_see_each_statement(app, statements):
    conn = db.session.connection()
    statement = sa.select(sa.literal_column("7"))
    assert direct.scalar(conn, statement, {}) == 7
    assert direct.sql_rows(conn, "SELECT 8", {}) == [(8,)]
    assert len(statements) == 2, statements


def test_a_drivers_error_is_raised_as_sqlalchemys(app):
    conn = db.session.connection()
    with pytest.raises(sa.exc.DBAPIError) as raised:
        direct.rows(conn, sa.select(sa.table("no_such_table", sa.column("x")).c.x), {})
    assert not isinstance(raised.value.orig, sa.exc.SQLAlchemyError)
    db.session.rollback()


def test_a_statement_past_its_deadline_is_a_timeout(app, monkeypatch):
    """The bound is dbtimeout's hook's, run before the statement: past it, the error is_timeout knows
    (a 503 in the APIs)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's deadline is set by the hook; PostgreSQL's bound is the server's")
    with app.test_request_context("/"):
        conn = db.session.connection()
        monkeypatch.setattr(dbtimeout, "_sqlite_deadline", lambda: 0.0)  # long passed
        counting = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 1000000) "
        with pytest.raises(sa.exc.OperationalError) as raised:
            direct.sql_rows(conn, counting + "SELECT count(*) FROM n", {})
        assert dbtimeout.is_timeout(raised.value)
        db.session.rollback()


def test_statements_sent_at_once_pass_the_engine_hooks_and_the_budget_s_bound(app, statements, monkeypatch):
    """PostgreSQL: several statements sent at once on the driver's client cursor (a full-text search's
    estimate with its tally, its count from the text index alone) are seen by the engine's hooks as any
    statement: dbtimeout's sets the bound the request's budget leaves before them, and the tests see them."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's client cursor and statement_timeout")
    conn = db.session.connection()
    monkeypatch.setattr(dbtimeout, "_budget_bound", lambda: "12345")  # what a request's budget leaves
    with direct.sent_at_once(conn, "SELECT 1; SELECT current_setting('statement_timeout')", {}) as cursor:
        assert cursor.fetchone() == (1,)
        cursor.nextset()
        assert cursor.fetchone() == ("12345ms",)
    assert statements == ["SELECT 1; SELECT current_setting('statement_timeout')"], statements
    with pytest.raises(sa.exc.DBAPIError) as raised:  # as SQLAlchemy raises a driver's error
        with direct.sent_at_once(conn, "SELECT 1; SELECT 1 / %(zero)s", {"zero": 0}) as cursor:
            cursor.nextset()
    assert not isinstance(raised.value.orig, sa.exc.SQLAlchemyError)
    db.session.rollback()


def test_a_filtered_search_costs_few_python_calls(table):
    """A filtered page of 20 records with its total: its count and page through SQLAlchemy's execution
    took 425 Python calls on SQLite and 599 on PostgreSQL, on the driver's cursor 254 and 372."""
    table_name, fields = table
    params = {"filters": json.dumps({"线路": "3路"}, ensure_ascii=False), "limit": 20}

    def search():
        return query.run(db.session.connection(), table_name, fields, query.parse(params, fields))

    found = search()
    assert len(found["records"]) == 20 and found["total"] == 43  # 3, 10, … 297: 43 of 300 rows
    counts = sorted(python_calls(search) for _ in range(3))
    assert counts[1] < {"sqlite": 340, "postgresql": 480}[db.engine.dialect.name], counts
