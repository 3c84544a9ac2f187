"""Loading rows from mirrored files (GB18030 and UTF-8 CSV, XLSX, JSON arrays), only when they changed,
and resuming a load cut short."""

from __future__ import annotations

import gc
import hashlib
import io
import json
import threading

import pytest
from catalogue_factories import make_dataset, mirrored
from openpyxl import Workbook
from sqlalchemy import select, text
from testconfig import ON_POSTGRES

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.rows import loader, query, readers, store, tables
from portal.rows.models import FAILED, READY, RowTable
from portal.storage import get_storage


@pytest.fixture
def loaded_tables(app):
    """Drop the row tables the test made."""
    yield
    db.session.rollback()
    for row_table in db.session.scalars(select(RowTable)):
        store.drop(db.session.connection(), row_table.table_name)
    db.session.commit()


def file_resource(data: bytes, fmt: str):
    resource = mirrored(make_dataset(), data, filename=f"data.{fmt.lower()}", format=fmt)
    resource.sha256, resource.mirrored_at = hashlib.sha256(data).hexdigest(), utcnow()
    db.session.commit()
    return resource


def load(resource, **options):
    return loader.load(
        db.session, resource, source=None, open_stored=get_storage().open, commit=db.session.commit, **options
    )


def read(row_table, **params):
    fields = tables.fields(row_table)
    return query.run(db.session.connection(), row_table.table_name, fields, query.parse(params, fields))


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_gb18030_csv_loads_with_inferred_types(loaded_tables):
    data = "名称,类别,数量,面积,区号\n南湖,景区,12,1.5,0573\n乌镇,古镇,-3,2,0571\n,,,,\n".encode("gb18030")
    row_table = load(file_resource(data, "CSV"))
    assert (row_table.status, row_table.records) == (READY, 2)
    answer = read(row_table)
    assert answer["fields"] == [
        {"id": "_id", "type": "int"},
        {"id": "名称", "type": "text"},
        {"id": "类别", "type": "text"},
        {"id": "数量", "type": "int"},
        {"id": "面积", "type": "numeric"},
        {"id": "区号", "type": "text"},  # a leading zero keeps a code as text
    ]
    assert answer["records"][1] == {
        "_id": 2,
        "名称": "乌镇",
        "类别": "古镇",
        "数量": -3,
        "面积": 2.0,
        "区号": "0571",
    }
    assert row_table.resource.records == 2 and row_table.resource.fields == 5  # the volume, from the store


def test_an_xlsx_and_a_json_array_load(loaded_tables):
    row_table = load(
        file_resource(xlsx([["站点", "泊位"], ["东站", 30], ["西站", None], [None, None]]), "XLSX")
    )
    assert read(row_table)["records"] == [
        {"_id": 1, "站点": "东站", "泊位": 30},
        {"_id": 2, "站点": "西站", "泊位": None},
    ]
    items = [{"名称": "甲", "数量": 1}, {"名称": "乙", "标签": ["a", "b"]}]
    row_table = load(file_resource(json.dumps(items, ensure_ascii=False).encode(), "JSON"))
    assert read(row_table)["records"] == [
        {"_id": 1, "名称": "甲", "数量": 1, "标签": None},
        {"_id": 2, "名称": "乙", "数量": None, "标签": ["a", "b"]},
    ]
    assert [f["type"] for f in read(row_table)["fields"]] == ["int", "text", "int", "json"]


def test_headers_are_named_and_hostile_names_never_reach_sql(loaded_tables):
    data = b'a,,a,_id,"x""; DROP TABLE users; --"\n1,2,3,4,5\n'
    row_table = load(file_resource(data, "CSV"))
    names = [f["id"] for f in read(row_table)["fields"]]
    assert names == ["_id", "a", "column_2", "a_2", "_id_2", 'x"; DROP TABLE users; --']
    filters = {'x"; DROP TABLE users; --': 5}
    assert read(row_table, filters=filters)["total"] == 1


def test_an_unchanged_file_is_not_loaded_again_and_a_changed_one_is(loaded_tables):
    resource = file_resource(b"a,b\n1,2\n", "CSV")
    first = load(resource)
    loaded_at = first.loaded_at
    assert load(resource).loaded_at == loaded_at
    get_storage().put(resource.storage_key, io.BytesIO(b"a,b\n1,2\n3,4\n"))
    resource.sha256 = "changed"
    db.session.commit()
    again = load(resource)
    assert again.records == 2 and again.loaded_at > loaded_at


def test_a_load_cut_short_resumes_where_it_stopped(loaded_tables):
    data = "n,name\n" + "".join(f"{n},第{n}行\n" for n in range(1, 1001))
    resource = file_resource(data.encode(), "CSV")
    commits = []

    def dying_commit():
        db.session.commit()
        commits.append(1)
        if len(commits) == 4:  # the table, then three batches of 100
            raise KeyboardInterrupt  # a killed sync

    with pytest.raises(KeyboardInterrupt):
        loader.load(
            db.session, resource, source=None, open_stored=get_storage().open, commit=dying_commit, batch=100
        )
    row_table = db.session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
    assert (row_table.status, row_table.records) == ("loading", 300)
    row_table = load(resource, batch=100)
    assert (row_table.status, row_table.records) == (READY, 1000)
    records = read(row_table, limit=1000)["records"]
    assert [r["n"] for r in records] == list(range(1, 1001)) and [r["_id"] for r in records] == list(
        range(1, 1001)
    )


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite's inserts run in Python's thread alone")
def test_the_next_batch_is_made_while_the_last_one_is_copied(loaded_tables, monkeypatch):
    """On PostgreSQL each batch's COPY text is made ahead, in a thread, while the last batch goes in:
    the copy of batch 1 sees batch 2 made without returning first (it would wait forever otherwise)."""
    data = "n,name\n" + "".join(f"{n},第{n}行\n" for n in range(1, 501))
    resource = file_resource(data.encode(), "CSV")
    made, copied, ahead = [], [], []
    second = threading.Event()
    copy_text, copy = store.copy_text, store.copy

    def making(fields, first_id, *args, **kwargs):
        made.append(first_id)
        if len(made) == 2:
            second.set()
        return copy_text(fields, first_id, *args, **kwargs)

    def copying(conn, described, fields, text):
        copied.append(text.split("\t", 1)[0])
        if len(copied) == 1:
            ahead.append(second.wait(30))  # a guard against a hang, never a measure
        copy(conn, described, fields, text)

    monkeypatch.setattr(store, "copy_text", making)
    monkeypatch.setattr(store, "copy", copying)
    row_table = load(resource, batch=100)
    assert ahead == [True] and made == [1, 101, 201, 301, 401] and copied == ["1", "101", "201", "301", "401"]
    assert (row_table.status, row_table.records) == (READY, 500)
    assert [r["_id"] for r in read(row_table, limit=500)["records"]] == list(range(1, 501))


def test_rows_after_the_sample_that_contradict_its_types_load_typed_as_the_whole_file(
    loaded_tables, monkeypatch
):
    monkeypatch.setattr(readers, "SAMPLE", 3)
    data = "n,code,站点\n" + "".join(f"{n},{n + 10},第{n}行\n" for n in range(1, 8)) + "8.5,0018,末行\n"
    row_table = load(file_resource(data.encode(), "CSV"), batch=2)
    assert (row_table.status, row_table.records) == (READY, 8)
    answer = read(row_table, limit=10)
    assert [f["type"] for f in answer["fields"]] == ["int", "numeric", "text", "text"]
    assert answer["records"][0] == {"_id": 1, "n": 1.0, "code": "11", "站点": "第1行"}
    assert answer["records"][-1] == {"_id": 8, "n": 8.5, "code": "0018", "站点": "末行"}
    assert read(row_table, q="末行")["total"] == 1


def test_a_json_key_after_the_sample_adds_its_field(loaded_tables, monkeypatch):
    monkeypatch.setattr(readers, "SAMPLE", 1)
    items = [{"名称": "甲"}, {"名称": "乙", "数量": 2}]
    row_table = load(file_resource(json.dumps(items, ensure_ascii=False).encode(), "JSON"))
    assert read(row_table)["records"] == [
        {"_id": 1, "名称": "甲", "数量": None},
        {"_id": 2, "名称": "乙", "数量": 2},
    ]


def test_an_unreadable_file_fails_and_says_why(loaded_tables):
    resource = file_resource(b"\x00not a workbook", "XLSX")
    with pytest.raises(loader.LoadFailed):
        load(resource)
    row_table = db.session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
    assert row_table.status == FAILED and "XLSX" in row_table.error


def test_a_removed_resource_leaves_the_store(loaded_tables):
    resource = file_resource(b"a\n1\n", "CSV")
    name = load(resource).table_name
    resource.state = "removed"
    db.session.commit()
    assert load(resource) is None
    assert db.session.scalar(select(RowTable).where(RowTable.resource_id == resource.id)) is None
    inspector = db.inspect(db.session.connection())
    schema = store.SCHEMA if db.session.connection().dialect.name == "postgresql" else None
    assert store.physical_name(name, db.session.connection().dialect.name) not in inspector.get_table_names(
        schema
    )


def test_a_small_table_without_a_text_index_answers_q_as_an_indexed_one(loaded_tables, monkeypatch):
    lines = ["站点,线路,备注", "东湖公交站,K3路,Bus stop 7", "湖东站,5路,东 湖", "东湖公园,K3路,bus"]
    data = ("\n".join(lines) + "\n").encode()
    scanned = load(file_resource(data, "CSV"))
    monkeypatch.setattr(store, "INDEXED_FROM", 1)
    indexed = load(file_resource(data, "CSV"))
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        assert not store.has_text_index(conn, scanned.table_name)
        assert store.has_text_index(conn, indexed.table_name)
    for q in ["东湖", "湖", "东", "东湖公交", "公园东湖", "bus", "stop 7", "k3", "湖东 bus", "7", "公", "无"]:
        for params in ({"q": q}, {"q": q, "filters": {"线路": "K3路"}}, {"q": q, "sort": "站点 desc"}):
            expected = read(indexed, **params)
            assert read(scanned, **params) == expected, params
    assert [r["_id"] for r in read(scanned, q="东湖")["records"]] == [1, 3]
    assert [r["_id"] for r in read(scanned, q="东")["records"]] == [1, 2, 3]


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's own plans and visibility map")
def test_a_loaded_tables_filtered_page_reads_its_rows_in_order_from_an_index_on_a_settled_table(
    loaded_tables, monkeypatch
):
    """Each field's B-tree ends in _id, so a filtered page in _id order needs no sort of every match;
    the load's VACUUM leaves the visibility map set, so counting reads the index alone."""
    monkeypatch.setattr(store, "INDEXED_FROM", 1)
    lines = ["线路,站点"] + [f"{'K3路' if n % 2 else '5路'},站{n}" for n in range(2000)]
    row_table = load(file_resource(("\n".join(lines) + "\n").encode(), "CSV"))
    assert row_table.status == READY
    conn = db.session.connection()
    name = store.physical_name(row_table.table_name, "postgresql")
    definition = (
        conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND indexname LIKE :n"),
            {"s": store.SCHEMA, "n": f"{name}_c%_idx"},
        )
        .scalars()
        .all()
    )
    assert definition and all(d.endswith(", _id)") for d in definition), definition
    pages, visible = conn.execute(
        text("SELECT relpages, relallvisible FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": f'{store.SCHEMA}."{name}"'},
    ).one()
    assert pages > 0 and visible == pages  # statistics gathered, every page all-visible
    column = tables.fields(row_table)[0].column
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a 2,000-row table: ask for the index's plan
    plan = conn.exec_driver_sql(
        f'EXPLAIN (FORMAT JSON) SELECT _id FROM {store.SCHEMA}."{name}" '
        f"WHERE \"{column}\" = 'K3路' ORDER BY _id LIMIT 100"
    ).scalar_one()
    assert "Sort" not in json.dumps(plan), plan
    assert [r["_id"] for r in read(row_table, filters={"线路": "K3路"}, limit=3)["records"]] == [2, 4, 6]


def test_a_nul_in_a_cell_is_dropped_alike_on_both_databases(loaded_tables):
    """PostgreSQL's text holds no NUL: the cell loads without it, as on SQLite, not failing the load."""
    row_table = load(file_resource("站点,备注\n东湖\0站,a\0b\n".encode(), "CSV"))
    assert row_table.status == READY
    assert [(r["站点"], r["备注"]) for r in read(row_table)["records"]] == [("东湖站", "ab")]


def test_numbers_come_back_as_python_reads_them_whatever_their_text(loaded_tables):
    """PostgreSQL's COPY takes a plain number as its text (readers.column_converter's `texts`): every
    stored value is still the one float() gives, and a text PostgreSQL would refuse (one that rounds
    to zero) goes in converted."""
    numbers = ["1.50", "-0", "1e-400", "0." + "0" * 400 + "1", "2.5e3", "1" + "0" * 30, "0.1", "-7"]
    data = "n,x\n" + "".join(f"{n},{number}\n" for n, number in enumerate(numbers, start=1)) + "9,\n"
    answer = read(load(file_resource(data.encode(), "CSV")), limit=10)
    assert [f["type"] for f in answer["fields"]] == ["int", "int", "numeric"]
    assert [r["x"] for r in answer["records"]] == [float(number) for number in numbers] + [None]
    assert [r["n"] for r in answer["records"]] == list(range(1, 10))


def test_a_load_collects_garbage_less_often_and_restores_the_threshold(loaded_tables, monkeypatch):
    seen, fill = [], loader._fill

    def filling(*args):
        seen.append(gc.get_threshold()[0])
        return fill(*args)

    monkeypatch.setattr(loader, "_fill", filling)
    before = gc.get_threshold()
    assert load(file_resource(b"n\n1\n", "CSV")).status == READY
    with pytest.raises(loader.LoadFailed):
        load(file_resource(b'{"a": 1}', "JSON"))
    assert seen == [max(before[0], loader.GC_THRESHOLD)] and gc.get_threshold() == before
