"""PostgreSQL: a rows call that only reads runs its statements in autocommit (rows/tables.py `_reading`),
sending neither BEGIN nor COMMIT; a full-text search reads its text index's tally with the table and keeps
the planner's estimate under the stamp of the table's statistics (rows/query.py `_estimate`), and takes
a count across two statements only when the statistics were not flushed in between (`_tally`)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from factories import make_user
from rows_factories import STOPS, loaded_csv

from portal.accounts import tokens
from portal.extensions import db
from portal.rows import query, store

SEARCH = "/api/3/action/datastore_search"
ROWS = f"/api/v1/datasets/rows-dataset-1/resources/{STOPS}/rows"
FILTER = json.dumps({"线路": "K3路"}, ensure_ascii=False)


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's autocommit, statistics and planner estimates")


@pytest.fixture
def modes(app) -> dict[str, list]:
    """Whether the driver's connection was in autocommit as each statement ran through the engine, and
    as each connection went back to the pool."""
    seen: dict[str, list] = {"statements": [], "checkins": []}

    def ran(conn, cursor, statement, parameters, context, executemany):
        seen["statements"].append((statement, cursor.connection.autocommit))

    def checked_in(dbapi_connection, record):
        seen["checkins"].append(dbapi_connection.autocommit)

    sa.event.listen(db.engine, "before_cursor_execute", ran)
    sa.event.listen(db.engine, "checkin", checked_in)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", ran)
    sa.event.remove(db.engine, "checkin", checked_in)


def _pages(statements: list) -> list[bool]:
    return [autocommit for sql, autocommit in statements if "FROM rows." in sql]


@pytest.mark.parametrize("url", [SEARCH, ROWS])
def test_an_anonymous_rows_call_reads_in_autocommit_and_gives_the_connection_back_as_it_was(
    client, synced, postgresql, modes, url
):
    params = {"resource_id": STOPS} if url == SEARCH else {}
    for asked in ({"filters": FILTER}, {"q": "南湖"}):
        modes["statements"].clear()
        response = client.get(url, query_string={**params, **asked})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert _pages(modes["statements"]) and all(_pages(modes["statements"])), modes["statements"]
    assert modes["checkins"] and not any(modes["checkins"]), modes["checkins"]


def test_a_call_whose_session_read_before_the_table_keeps_its_transaction(client, synced, postgresql, modes):
    """With a token, the token's user was read in a transaction already: the call goes on in it."""
    _, plain = tokens.create_token(make_user(role="developer"), "脚本")
    db.session.commit()
    modes["statements"].clear()
    response = client.get(
        SEARCH,
        query_string={"resource_id": STOPS, "filters": FILTER},
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert response.status_code == 200
    assert _pages(modes["statements"]) == [False], modes["statements"]


def _explained(statements: list) -> int:
    return len([sql for sql, _ in statements if sql.startswith("EXPLAIN")])


@pytest.mark.parametrize("url", [SEARCH, ROWS])
def test_a_search_s_estimate_is_kept_until_the_table_is_analyzed_again(
    client, synced, postgresql, modes, monkeypatch, url
):
    monkeypatch.setattr(query, "_ESTIMATES", {})
    params = {"resource_id": STOPS} if url == SEARCH else {}

    def call(**more) -> tuple[object, int]:
        modes["statements"].clear()
        response = client.get(url, query_string={**params, "q": "南湖", **more})
        assert response.status_code == 200
        return response.get_json(), _explained(modes["statements"])

    first, asked = call()
    assert asked == 1
    assert call() == (first, 0)  # the same search again, and its next page: no EXPLAIN
    assert call(offset=5)[1] == 0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in db.session.scalars(sa.text("SELECT table_name FROM row_tables")):
            conn.exec_driver_sql(f'ANALYZE {store.SCHEMA}."{name}"')
    assert call() == (first, 1)  # new statistics: asked again, the same answer


ROWS_IN = 4000


def _name(n: int) -> str:
    return ("南湖" if n % 2 else "东栅") + f"站{n}"


@pytest.fixture
def table(postgresql):
    with loaded_csv("名称,数量\n" + "".join(f"{_name(n)},{n}\n" for n in range(1, ROWS_IN + 1))) as loaded:
        yield loaded


@pytest.mark.parametrize("flushed", [False, True])
def test_a_count_across_statements_is_taken_only_when_the_statistics_were_not_flushed_between(
    table, monkeypatch, flushed
):
    """In autocommit each statement is a transaction, after which the backend may flush its statistics
    (at most once a second, or when asked): the tally then starts again from nothing, and a difference
    with the tally read before would be the page's scan less the earlier scans. The index's scans tell
    it, and the total is then counted apart: right either way."""
    table_name, fields = table
    counted_apart = []
    count = query._indexed_count

    def spied(*args):
        counted_apart.append(args)
        return count(*args)

    monkeypatch.setattr(query, "_indexed_count", spied)
    index = {"index": f'{store.SCHEMA}."{table_name}_search_idx"'}
    rare = f"SELECT count(*) FROM {store.SCHEMA}.\"{table_name}\" WHERE {store.VECTOR} @@ '3999'::tsquery"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _ in range(5):  # the scan before must still be in the backend's statistics as the page starts
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")  # flushed now: the next in a second
            conn.exec_driver_sql("SET enable_seqscan = off")
            assert conn.exec_driver_sql(rare).scalar_one() == 1  # through the text index: one address
            conn.exec_driver_sql("RESET enable_seqscan")
            before = tuple(conn.execute(sa.select(query._INDEX_TALLY, query._INDEX_SCANS), index).one())
            if before[1]:
                break
        assert before[0] >= 1 and before[1] >= 1, before
        if flushed:
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        search = query.parse({"q": "南湖", "limit": 10, "offset": 1500}, fields)  # the page from the index
        search.text_start = (ROWS_IN, None, before)
        conn.exec_driver_sql("SET enable_indexscan = off")  # the page on the text index (test_query_plans)
        found = query.run(conn, table_name, fields, search)
        conn.exec_driver_sql("RESET enable_indexscan")
    assert [r["_id"] for r in found["records"]] == list(range(3001, 3020, 2))
    assert (found["total"], found["total_was_estimated"]) == (ROWS_IN // 2, False)
    assert bool(counted_apart) == flushed


def test_the_tally_is_a_count_only_after_one_scan_of_the_index():
    search = query.Search(fields=[], offset=0, limit=2)
    rows = [(1, "a", 105, 8), (2, "b", 105, 8)]
    assert query._tally(rows, (100, 7), search) == 5
    assert query._tally(rows, (100, 6), search) is None  # two scans
    assert query._tally([(1, "a", 5, 1), (2, "b", 5, 1)], (100, 7), search) is None  # flushed between
    assert query._tally(rows, None, search) is None  # no text index
    assert query._tally(rows, (104, 7), search) is None  # fewer than the rows read: not the index's count


def test_the_text_index_is_counted_apart_in_autocommit_too(table, monkeypatch):
    """Past the last match no row carries the tally: the count is read from the index alone, whose
    planner settings last only as long as its statements (no savepoint in autocommit)."""
    table_name, fields = table
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        found = query.run(conn, table_name, fields, query.parse({"q": "东栅", "offset": 3000}, fields))
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"
        assert conn.exec_driver_sql("SHOW enable_indexscan").scalar_one() == "on"
    assert found["records"] == [] and found["total"] == ROWS_IN // 2
