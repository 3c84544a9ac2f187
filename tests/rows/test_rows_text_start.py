"""PostgreSQL: a full-text rows call reads its text index's tally and scans with the table (rows/tables.py
`locate`), so a one-word search is the lookup and the page; the planner's estimate that sizes the page's
window is kept under the stamp of the table's statistics (rows/query.py `_estimate`); a count across two
statements is taken only when the index's scans grew by the page's one (`_tally`)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rows_factories import STOPS, loaded_csv

from portal.extensions import db
from portal.rows import query, store, tables

SEARCH = "/api/3/action/datastore_search"
ROWS = f"/api/v1/datasets/rows-dataset-1/resources/{STOPS}/rows"


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics and planner estimates")


def _explained(statements: list[str]) -> int:
    return len([sql for sql in statements if sql.startswith("EXPLAIN")])


@pytest.mark.parametrize("url", [SEARCH, ROWS])
def test_a_search_s_estimate_is_kept_until_the_table_is_analyzed_again(
    client, synced, postgresql, statements, on_driver, monkeypatch, url
):
    monkeypatch.setattr(query, "_ESTIMATES", {})
    monkeypatch.setattr(tables, "STATISTICS_SETTLE_SECONDS", 0.0)
    params = {"resource_id": STOPS} if url == SEARCH else {}

    def call(**more) -> tuple[object, int]:
        statements.clear()
        on_driver.clear()
        response = client.get(url, query_string={**params, "q": "南湖", **more})
        assert response.status_code == 200
        rows_statements = [s for s in statements if "FROM rows." in s and not s.startswith("EXPLAIN")]
        assert len(on_driver) == 1 and len(rows_statements) == 1, (on_driver, statements)  # lookup, page
        return response.get_json(), _explained(statements)

    first, asked = call()
    assert asked == 1
    assert call() == (first, 0)  # the same search again, and its next page: no EXPLAIN
    assert call(offset=5)[1] == 0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in db.session.scalars(sa.text("SELECT table_name FROM row_tables")):
            conn.exec_driver_sql(f'ANALYZE {store.SCHEMA}."{name}"')
    assert call() == (first, 1)  # new statistics: asked again, the same answer


def test_no_estimate_is_kept_while_an_analyze_may_not_have_committed(
    client, synced, postgresql, statements, monkeypatch
):
    """ANALYZE tells its time before its transaction commits the statistics: an estimate read just after
    it may come from the former ones, so none is kept for some seconds (the loaded table was analyzed at
    its load, a moment ago)."""
    monkeypatch.setattr(query, "_ESTIMATES", {})
    for _ in range(2):
        statements.clear()
        assert client.get(SEARCH, query_string={"resource_id": STOPS, "q": "南湖"}).status_code == 200
        assert _explained(statements) == 1
    assert query._ESTIMATES == {}


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
    """The tally read before the page lives in the backend until it flushes its statistics, which it
    never does within a transaction; read in an earlier one (here with the backend asked to flush in
    between), the tally starts again from nothing, and a difference with the one read before would be the
    page's scan less the earlier scans. The index's scans tell it, and the total is then counted apart:
    right either way."""
    table_name, fields = table
    counted_apart = []
    count = query._indexed_count

    def spied(*args):
        counted_apart.append(args)
        return count(*args)

    monkeypatch.setattr(query, "_indexed_count", spied)
    index = {"index": f'{store.SCHEMA}."{table_name}_search_idx"'}
    rare = f"SELECT count(*) FROM {store.SCHEMA}.\"{table_name}\" WHERE {store.VECTOR} @@ '3999'::tsquery"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # its own BEGINs
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        assert conn.exec_driver_sql(rare).scalar_one() == 1  # through the text index: one address
        before = tuple(conn.execute(sa.select(query._INDEX_TALLY, query._INDEX_SCANS), index).one())
        assert before[0] >= 1 and before[1] >= 1, before
        if flushed:  # the page in a later transaction, the backend's statistics flushed in between
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")  # as the backend next goes idle
            conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("RESET enable_seqscan")
        search = query.parse({"q": "南湖", "limit": 10, "offset": 1500}, fields)  # the page from the index
        search.text_start = (ROWS_IN, None, before)
        found = query.run(conn, table_name, fields, search)
        conn.exec_driver_sql("COMMIT")
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
