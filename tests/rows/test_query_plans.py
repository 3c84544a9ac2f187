"""PostgreSQL's full-text search of single terms (rows/query.py `_tallied_page`): the page and its exact
total from one scan of the text index, the total read from the index's statistics of the transaction;
where that count cannot be read, the total is counted apart as before, and the answer is the same."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rows_factories import loaded_csv

from portal.extensions import db
from portal.rows import query, store

ROWS = 4000


def name(n: int) -> str:
    return ("南湖" if n % 2 else "东栅") + ("秀洲" if n > 3000 else "") + f"站{n}"


@pytest.fixture
def table(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's text index and its statistics")
    with loaded_csv("名称,数量\n" + "".join(f"{name(n)},{n}\n" for n in range(1, ROWS + 1))) as loaded:
        yield loaded


def search(table, **params) -> dict:
    table_name, fields = table
    return query.run(db.session.connection(), table_name, fields, query.parse(params, fields))


def expected(word: str, offset: int, limit: int) -> tuple[list[int], int]:
    matching = [n for n in range(1, ROWS + 1) if word in name(n)]
    return matching[offset : offset + limit], len(matching)


@pytest.mark.parametrize(
    ("word", "offset"), [("南湖", 0), ("南湖", 150), ("南湖", 1990), ("秀洲", 0), ("秀洲", 990)]
)
def test_the_total_comes_from_the_page_s_own_scan_of_the_text_index(table, monkeypatch, word, offset):
    """With the plan on the text index (a small table's window would walk its primary key, so plain
    index scans are off here), no second scan counts the matches: the page's statement tells them."""
    db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))

    def counted_apart(*args):
        raise AssertionError("the total was counted apart")

    monkeypatch.setattr(query, "_indexed_count", counted_apart)
    found = search(table, q=word, offset=offset, limit=100)
    ids, total = expected(word, offset, 100)
    assert [r["_id"] for r in found["records"]] == ids
    assert (found["total"], found["total_was_estimated"]) == (total, False)


@pytest.mark.parametrize("offset", [0, 150, 1990, 2100])
@pytest.mark.parametrize("plain_scans", ["on", "off"])
def test_pages_and_totals_are_the_same_whichever_way_the_total_is_read(table, offset, plain_scans):
    """Past the last match (no row to read the count beside), or with the window's page read through
    the primary key (the text index unused: no count), the total is counted apart, the same."""
    db.session.execute(sa.text(f"SET LOCAL enable_indexscan = {plain_scans}"))
    for word in ("南湖", "秀洲", "东栅"):
        found = search(table, q=word, offset=offset, limit=100)
        ids, total = expected(word, offset, 100)
        assert [r["_id"] for r in found["records"]] == ids
        assert (found["total"], found["total_was_estimated"]) == (total, False)
        sorted_page = search(table, q=word, offset=offset, limit=10, sort="数量 desc")
        every = [n for n in range(ROWS, 0, -1) if word in name(n)]
        assert [r["_id"] for r in sorted_page["records"]] == every[offset : offset + 10]
        assert sorted_page["total"] == total


def test_no_count_is_read_from_an_index_the_table_lacks(table):
    """A table without its text index (none of ours: built with every load) answers from the rows."""
    table_name, _ = table
    db.session.execute(sa.text(f'DROP INDEX {store.SCHEMA}."{table_name}_search_idx"'))
    found = search(table, q="秀洲", offset=10, limit=5)
    ids, total = expected("秀洲", 10, 5)
    assert [r["_id"] for r in found["records"]] == ids
    assert found["total"] == total


@pytest.mark.parametrize("offset", [0, 2100])
def test_the_estimate_and_the_count_by_the_index_go_through_the_engine_s_hooks(table, statements, offset):
    """The estimate with its tally, and past the last match the count from the text index alone, are
    each several statements sent at once (rows/direct.py `sent_at_once`): the engine's hooks see them, as
    dbtimeout's must to bound them by the request's budget."""
    db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))  # the page on the text index (above)
    found = search(table, q="南湖", offset=offset, limit=100)
    ids, total = expected("南湖", offset, 100)
    assert [r["_id"] for r in found["records"]] == ids and found["total"] == total
    assert len([s for s in statements if s.startswith("EXPLAIN (FORMAT JSON)") and "numscans" in s]) == 1
    counted_by_index = [s for s in statements if "SAVEPOINT rows_count" in s]
    assert len(counted_by_index) == (1 if offset >= total else 0), statements
