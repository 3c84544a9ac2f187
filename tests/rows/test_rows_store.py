"""The row tables: search terms cut once per value, and the indexes a loaded table is given."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from psycopg.errors import UniqueViolation
from testconfig import ON_POSTGRES

from portal.extensions import db
from portal.rows import store

FIELDS = [
    store.Field("名称", "text", "c1"),
    store.Field("数量", "int", "c2"),
    store.Field("手机", "text", "c3", personal="phone"),
    store.Field("标签", "json", "c4"),
]


@pytest.mark.parametrize(
    "values",
    [
        ["南湖区公交站", 3, "13800000000", '["a", "b"]'],
        ["南湖区公交站", None, None, None],
        [None, 1, "13800000000", None],
        ["ＣＳＶ  data 2025", 2, None, '"东湖"'],
        ["甲" * 3000, 1, None, '"' + "乙" * 1500 + '"'],  # over MAX_TERMS_TEXT: cut as row_terms cuts
        ["  ", 1, None, None],
    ],
)
def test_a_rows_terms_are_what_row_terms_gives_cut_once_per_value(values):
    cutter = store.Terms(FIELDS)
    searchable = [True, False, False, True]
    columns = [[v] for v in values]
    assert cutter.of(columns, 1) == [store.row_terms(values, searchable)]
    assert cutter.of(columns, 1) == [store.row_terms(values, searchable)]  # from what it remembers
    assert "13800000000" not in cutter.of(columns, 1)[0]


def test_a_batchs_terms_are_each_rows_own_whatever_its_neighbours():
    """A batch is cut a column at a time: blanks, values without terms, repeats and a row too long for
    MAX_TERMS_TEXT beside short ones each give what row_terms gives that row alone."""
    rows = [
        ["南湖区公交站", 3, "13800000000", '["a"]'],
        [None, 1, None, None],
        ["南湖区公交站", None, None, '"—"'],
        ["—", 2, None, '"东湖 2025"'],
        ["甲" * 3000, 1, None, '"' + "乙" * 1500 + '"'],
        ["ＣＳＶ", None, "13900000000", '"南湖区公交站"'],
    ]
    columns = [list(column) for column in zip(*rows, strict=True)]
    expected = [store.row_terms(row, [True, False, False, True]) for row in rows]
    assert store.Terms(FIELDS).of(columns, len(rows)) == expected
    assert store.Terms(FIELDS[1:3]).of(columns[1:3], len(rows)) == [""] * len(rows)  # nothing searchable


def index_names(table_name: str) -> set[str]:
    conn = db.session.connection()
    dialect = conn.dialect.name
    schema = store.SCHEMA if dialect == "postgresql" else None
    inspector = sa.inspect(conn)
    return {i["name"] for i in inspector.get_indexes(store.physical_name(table_name, dialect), schema)}


@pytest.fixture
def made(app):
    """Create row tables; drop them after."""
    names = []

    def make(table_name: str, rows: list[list]):
        conn = db.session.connection()
        described = store.create(conn, table_name, FIELDS)
        store.insert(conn, described, FIELDS, 1, [list(c) for c in zip(*rows, strict=True)], len(rows))
        store.index(conn, table_name, FIELDS, len(rows))
        db.session.commit()
        names.append(table_name)
        return described

    yield make
    db.session.rollback()
    for name in names:
        store.drop(db.session.connection(), name)
    db.session.commit()


def test_a_small_table_is_scanned_a_large_one_indexed_for_its_public_fields(made, monkeypatch):
    made("r_900001", [["甲", 1, "13800000000", None]])
    assert not {n for n in index_names("r_900001") if n.endswith(("_c1_idx", "_c2_idx"))}
    monkeypatch.setattr(store, "INDEXED_FROM", 2)
    made("r_900002", [["甲", 1, "13800000000", None], ["乙", 2, None, None]])
    columns = {n.rsplit("_", 2)[-2] for n in index_names("r_900002") if n.endswith("_idx")}
    assert {"c1", "c2", "c4"} <= columns and "c3" not in columns  # never the personal field


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite's _id is the rowid itself")
def test_the_key_is_indexed_after_the_load_and_unique(app):
    """On PostgreSQL COPY fills a table without an index (a primary key kept up to date row by row made
    COPY take 1.7 times the CPU); `index` then builds _id's unique index, which refuses a repeated _id."""
    conn = db.session.connection()
    rows = [["甲", 1, None, None], ["乙", 2, None, None]]
    try:
        described = store.create(conn, "r_900007", FIELDS)
        assert index_names("r_900007") == set()
        store.insert(conn, described, FIELDS, 1, [list(c) for c in zip(*rows, strict=True)], len(rows))
        store.index(conn, "r_900007", FIELDS, len(rows))
        assert "r_900007_pkey" in index_names("r_900007")
        with pytest.raises(UniqueViolation), conn.begin_nested():
            store.insert(conn, described, FIELDS, 2, [["丙"], [3], [None], [None]], 1)
    finally:
        db.session.rollback()


def test_a_text_too_long_for_a_btree_is_still_indexed_for_equality(made, monkeypatch):
    monkeypatch.setattr(store, "INDEXED_FROM", 2)
    long = "".join(f"{n:05d}长文本" for n in range(1200))  # ~ 12,000 bytes: over a B-tree entry's limit
    described = made("r_900003", [[long, 1, None, None], ["短", 2, None, None]])
    assert any(n.endswith("_c1_idx") for n in index_names("r_900003"))
    if db.session.connection().dialect.name == "postgresql":  # a hash index, as a B-tree refused it
        definition = db.session.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'r_900003_c1_idx'")
        ).scalar_one()
        assert "USING hash" in definition
    found = db.session.execute(sa.select(described.c._id).where(described.c.c1 == long)).scalars().all()
    assert found == [1]


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's lock queue: SQLite has no concurrent DROP to wait")
def test_dropping_a_table_a_reader_holds_fails_after_its_wait_instead_of_hanging(made, monkeypatch):
    """An export streaming a table holds it in an open transaction; a DROP waiting behind it forever would
    hang the sync and queue every new reader of the table behind the DROP."""
    made("r_900004", [["甲", 1, None, None]])
    monkeypatch.setattr(store, "DROP_LOCK_WAIT", "200ms")
    reader = db.engine.connect()
    try:
        reader.exec_driver_sql(f'SELECT count(*) FROM {store.SCHEMA}."r_900004"').scalar()  # holds it
        with db.engine.connect() as dropper:
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                store.drop(dropper, "r_900004")
            dropper.rollback()
    finally:
        reader.close()
    with db.engine.connect() as dropper:  # once the reader is gone the drop goes through
        store.drop(dropper, "r_900004")
        dropper.commit()
    assert not sa.inspect(db.engine).has_table("r_900004", schema=store.SCHEMA)


def test_values_that_csv_and_copy_treat_specially_come_back_as_they_went_in(made):
    """PostgreSQL loads a batch as COPY's text: quotes, separators, tabs, line ends, backslashes, a lone
    `\\.` (COPY's end of data), blanks around text, an empty text and a row without search terms all
    come back exact."""
    awkward = [
        'a "quoted", text',
        "line\nbreak",
        "carriage\rreturn",
        "both\r\nends",
        "\\.",
        "x\n\\.\ny",
        "back\\slash\\N",
        "  padded  ",
        "\\N",
        "NULL",
        ",",
        '"',
        "tab\tin",
        "",
    ]
    rows = [[text, n, None, None] for n, text in enumerate(awkward)]
    rows += [
        [None, None, None, None],
        [None, -(2**63), None, '{"a": [1, "乙"]}'],
        ["—", 2**63 - 1, None, None],
    ]
    described = made("r_900005", rows)
    columns = [described.c._terms, described.c.c1, described.c.c2, described.c.c4]
    stored = db.session.execute(sa.select(*columns).order_by(described.c._id)).all()
    assert [list(row[1:]) for row in stored] == [[row[0], row[1], row[3]] for row in rows]
    searchable = [True, False, False, True]
    assert [row[0] for row in stored] == [store.row_terms(row, searchable) for row in rows]
    assert stored[-1][0] == stored[-3][0] == ""  # a row without terms holds "", never NULL


def test_the_terms_a_load_remembers_stay_bounded_and_short(monkeypatch):
    monkeypatch.setattr(store, "CACHED_TERMS", 2)
    cutter = store.Terms(FIELDS[:1])
    values = ["南湖", "秀洲", "嘉善", "平湖", "甲" * (store.CACHED_LENGTH + 1)]
    for value in values:
        assert cutter.of([[value, value]], 2) == [store.row_terms([value], [True])] * 2
        assert len(cutter.known) <= 2 and all(len(text) <= store.CACHED_LENGTH for text in cutter.known)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL builds the full-text index beside the B-trees")
def test_a_committed_tables_text_index_is_built_on_a_connection_of_its_own(made, monkeypatch):
    monkeypatch.setattr(store, "INDEXED_FROM", 2)
    made("r_900006", [["南湖区公交站", 1, None, None], ["秀洲区", 2, None, None]])
    conn = db.session.connection()
    conn.exec_driver_sql(f'DROP INDEX {store.SCHEMA}."r_900006_search_idx"')
    db.session.commit()
    store.index(db.session.connection(), "r_900006", FIELDS, 2, committed=True)
    db.session.commit()
    assert {"r_900006_search_idx", "r_900006_c1_idx"} <= index_names("r_900006")
    monkeypatch.setattr(store, "VECTOR", "no_such_function(_terms)")  # its failure is the caller's
    conn = db.session.connection()
    conn.exec_driver_sql(f'DROP INDEX {store.SCHEMA}."r_900006_search_idx"')
    db.session.commit()
    with pytest.raises(sa.exc.ProgrammingError, match="no_such_function"):
        store.index(db.session.connection(), "r_900006", FIELDS, 2, committed=True)


def test_every_storage_comes_back_as_it_went_in(app):
    """A DataStore's typed values (booleans, 64-bit integers, floats, text) as COPY's text writes them."""
    fields = [
        store.Field("有效", "bool", "c1"),
        store.Field("数量", "int8", "c2"),
        store.Field("面积", "float8", "c3"),
        store.Field("名称", "text", "c4"),
    ]
    rows = [[True, 2**63 - 1, 0.1, "a\tb"], [False, -(2**63), 1e300, "\\"], [None, None, None, None]]
    conn = db.session.connection()
    described = store.create(conn, "r_900009", fields)
    try:
        store.insert(conn, described, fields, 1, [list(c) for c in zip(*rows, strict=True)], len(rows))
        stored = db.session.execute(sa.select(*described.c[2:]).order_by(described.c._id)).all()
        assert [list(row) for row in stored] == rows
    finally:
        db.session.rollback()
        store.drop(db.session.connection(), "r_900009")
        db.session.commit()


def test_the_copy_text_of_columns_without_blanks_escapes_their_text_and_writes_their_numbers():
    """A batch's column of strings alone is taken joined in one pass (store._copy_column): its text is
    still escaped, its numbers' texts (readers.column_converter's `texts`) kept, its numbers written."""
    fields = [
        store.Field("名称", "text", "c1"),
        store.Field("数量", "int", "c2"),
        store.Field("面积", "numeric", "c3"),
        store.Field("标签", "json", "c4"),
    ]
    columns = [["tab\tin", "back\\slash", "line\nend"], ["1", "-2", "30"], [0.5, 2.0, 1e300], ['"a"'] * 3]
    terms = [
        store.row_terms([name, tag], [True, True]) for name, tag in zip(columns[0], columns[3], strict=True)
    ]
    assert store.copy_text(fields, 7, columns, 3) == (
        f'7\t{terms[0]}\ttab\\tin\t1\t0.5\t"a"\n'
        f'8\t{terms[1]}\tback\\\\slash\t-2\t2.0\t"a"\n'
        f'9\t{terms[2]}\tline\\nend\t30\t1e+300\t"a"\n'
    )
