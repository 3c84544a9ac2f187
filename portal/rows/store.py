"""The per-resource row tables: their shape, creation, bulk inserts, indexes and removal.

One table per resource, named from the resource's database id: `rows.r_<id>` on PostgreSQL (a schema of
its own, created by revision 0017), `rows_r_<id>` in the embedded SQLite database. Its columns are
`_id` (1, 2, … in the source's order, as CKAN's DataStore numbers rows), `_terms` (the search terms of
the row's non-personal text, see catalogue/terms.py) and one column `c<n>` per field, so that no field
name, however hostile, ever reaches SQL. Full text: a GIN index on the terms' tsvector on PostgreSQL,
a contentless FTS5 table `rows_r_<id>_fts` on SQLite. Indexes are made after a load (building one over
loaded rows is far cheaper than keeping it up to date row by row; on PostgreSQL `_id`'s unique index
too, in place of the primary key the table is described with), and on SQLite only for a table of
INDEXED_FROM rows or more, the FTS5 table too: below that a scan answers as fast as an index would, and
each schema object costs SQLite's every connection a re-read of the whole schema when it changes (an FTS5
table is five), which made the demo's 500 small tables the slowest part of its sync.

Every function takes the SQLAlchemy connection it works on; none commits.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa

from portal.catalogue import terms

SCHEMA = "rows"  # PostgreSQL
VECTOR = "to_tsvector('simple'::regconfig, _terms)"  # PostgreSQL: the full-text index's expression
INT, FLOAT, BOOL, TEXT, JSON = "int", "float", "bool", "text", "json"  # how a field is stored
MAX_INDEXED = 24  # fields given an index for filtering; wider tables filter the rest by scan
MAX_TERMS_TEXT = 4000  # characters of a row's text that go into its search terms
DROP_LOCK_WAIT = "5s"  # PostgreSQL: how long dropping a row table waits for a reader (see drop)
INDEXED_FROM = 5000  # rows from which a table's fields get indexes for equality filters
CACHED_TERMS = 100_000  # distinct short values whose terms a load remembers (15-65 MB at most)
CACHED_LENGTH = 64  # characters of the longest value remembered: longer ones rarely repeat
SQLITE_LOAD_CACHE_KIB = 65536  # SQLite's page cache while a batch goes in (the FTS5 index merges in it)

# CKAN DataStore types -> how the store keeps them (anything else is kept as JSON text)
_STORAGE = {
    "int": INT,
    "int4": INT,
    "int8": INT,
    "integer": INT,
    "bigint": INT,
    "smallint": INT,
    "int2": INT,
    "numeric": FLOAT,
    "float": FLOAT,
    "float4": FLOAT,
    "float8": FLOAT,
    "double precision": FLOAT,
    "bool": BOOL,
    "boolean": BOOL,
    "text": TEXT,
    "varchar": TEXT,
    "timestamp": TEXT,
    "date": TEXT,
    "time": TEXT,
    "interval": TEXT,
    "uuid": TEXT,
}
# PostgreSQL: room to build an index in memory (the transaction's only)
_INDEX_MEMORY = "SET LOCAL maintenance_work_mem = '256MB'"
_COPY_NULL = "\\N"  # PostgreSQL's COPY text format: how NULL is written
_COPY_BOOLS = {True: "t", False: "f", None: _COPY_NULL}
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")  # characters COPY's text format escapes
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
TOO_BIG = "54000"  # PostgreSQL's program_limit_exceeded: here, a value too long for a B-tree entry
_SQL_TYPES = {
    INT: sa.BigInteger,
    FLOAT: lambda: sa.Float(53),
    BOOL: sa.Boolean,
    TEXT: sa.Text,
    JSON: sa.Text,
}


@dataclass(frozen=True)
class Field:
    """One field of a row table: its public name, CKAN type, SQL column and masking kind."""

    id: str
    type: str
    column: str
    personal: str | None = None

    @property
    def storage(self) -> str:
        return storage_of(self.type)

    def as_dict(self) -> dict:
        return {"id": self.id, "type": self.type, "column": self.column, "personal": self.personal}

    @classmethod
    def from_dict(cls, data: dict) -> Field:
        return cls(data["id"], data["type"], data["column"], data.get("personal"))


def storage_of(ckan_type: str) -> str:
    return _STORAGE.get(ckan_type.lower(), JSON)


def physical_name(table_name: str, dialect: str) -> str:
    """Return the table's name as the database knows it (without the PostgreSQL schema)."""
    return table_name if dialect == "postgresql" else f"rows_{table_name}"


def fts_name(table_name: str) -> str:
    return f"rows_{table_name}_fts"


def table(table_name: str, fields: Sequence[Field], dialect: str) -> sa.Table:
    """Return the SQLAlchemy description of a row table (the same object for the same shape, so that
    SQLAlchemy's statement cache serves the searches of one table)."""
    return _table(table_name, tuple(fields), dialect)


@functools.lru_cache(maxsize=256)
def _table(table_name: str, fields: tuple[Field, ...], dialect: str) -> sa.Table:
    columns = [
        # SQLite: INTEGER PRIMARY KEY, the rowid itself (64 bits), so `_id` order is the table's own
        sa.Column(
            "_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
        ),
        sa.Column("_terms", sa.Text, nullable=False, default=""),
    ]
    columns += [sa.Column(f.column, _SQL_TYPES[f.storage]()) for f in fields]
    if dialect == "postgresql":
        return sa.Table(table_name, sa.MetaData(), *columns, schema=SCHEMA)
    return sa.Table(physical_name(table_name, dialect), sa.MetaData(), *columns)


def create(conn: sa.Connection, table_name: str, fields: Sequence[Field]) -> sa.Table:
    """Create an empty row table (dropping one of the same name) and return it."""
    dialect = conn.dialect.name
    drop(conn, table_name)
    described = table(table_name, fields, dialect)
    described.create(conn)
    if dialect == "postgresql":  # its key's index comes with the others, after the load (see index)
        conn.exec_driver_sql(f'ALTER TABLE {SCHEMA}."{table_name}" DROP CONSTRAINT "{table_name}_pkey"')
    return described


def has_text_index(conn: sa.Connection, table_name: str) -> bool:
    """SQLite: whether the table has its FTS5 index (a table under INDEXED_FROM rows has none)."""
    found = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (fts_name(table_name),)
    )
    return found.first() is not None


def drop(conn: sa.Connection, table_name: str) -> None:
    """Drop a row table. On PostgreSQL the DROP waits at most DROP_LOCK_WAIT for its lock: a reader still
    streaming an export holds the table, and a DROP waiting behind it would queue every new reader of the
    table behind itself; past the wait it fails (LockNotAvailable) and its caller tries again later."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{DROP_LOCK_WAIT}'")
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS {SCHEMA}."{table_name}"')
        conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")
    else:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{fts_name(table_name)}"')
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{physical_name(table_name, "sqlite")}"')


def row_terms(values: Sequence[object], searchable: Sequence[bool]) -> str:
    """Return the search terms of a row: of its text in the fields that are not personal."""
    text = " ".join(str(v) for v, s in zip(values, searchable, strict=True) if s and v is not None)
    return terms.terms_text(text[:MAX_TERMS_TEXT]) if text else ""


class Terms:
    """The search terms of a table's rows, as `row_terms` gives them, remembering the terms of each short
    value: a table's values repeat (its counties, categories, dates, lines) and cutting text into terms
    is a load's dearest step. A row's terms are its values' terms in order, since terms never span the
    space that joins two values. Rows come as columns, so that each distinct value of a batch is looked up
    once and the rest runs in C."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.searchable = [f.personal is None and f.storage in (TEXT, JSON) for f in fields]
        self.positions = [i for i, s in enumerate(self.searchable) if s]
        self.known: dict[str, str] = {}

    def of(self, columns: Sequence[Sequence], count: int) -> list[str]:
        """Return the terms of `count` rows given as columns of converted values, in field order."""
        texts = [columns[i] for i in self.positions]
        if not texts:
            return [""] * count
        cuts = [self._cuts(column) for column in texts]
        looked_up = [list(map(cut.__getitem__, column)) for cut, column in zip(cuts, texts, strict=True)]
        if any("" in cut.values() for cut in cuts):  # a blank or a value without terms adds no space
            found = [" ".join(filter(None, parts)) for parts in zip(*looked_up, strict=True)]
        else:
            found = list(map(" ".join, zip(*looked_up, strict=True)))
        if sum(max(map(len, filter(None, cut)), default=0) + 1 for cut in cuts) > MAX_TERMS_TEXT:
            for n, values in enumerate(zip(*texts, strict=True)):  # a row row_terms cuts: cut as it does
                filled = [v for v in values if v is not None]
                if sum(map(len, filled)) + len(filled) > MAX_TERMS_TEXT:
                    found[n] = row_terms(filled, [True] * len(filled))
        return found

    def _cuts(self, column: Sequence[str | None]) -> dict:
        """Return the terms of each distinct value of a column (a blank's are none)."""
        known, cuts = self.known, {}
        for text in set(column):
            cut = "" if text is None else known.get(text)
            if cut is None:
                cut = terms.terms_text(text)
                if len(text) <= CACHED_LENGTH:
                    if len(known) >= CACHED_TERMS:
                        known.clear()
                    known[text] = cut
            cuts[text] = cut
        return cuts


def insert(
    conn: sa.Connection,
    described: sa.Table,
    fields: Sequence[Field],
    first_id: int,
    columns: Sequence[Sequence],
    count: int,
    cutter: Terms | None = None,
) -> int:
    """Insert `count` rows given as columns of converted values (in field order), numbered from
    `first_id`; return how many. Pass the same `cutter` for every batch of a load so that its values'
    terms are cut once.

    PostgreSQL takes them through COPY of one text per batch (`copy_text`, then `copy`), SQLite
    through one prepared statement run many times.
    """
    if not count:
        return 0
    if conn.dialect.name == "postgresql":
        copy(conn, described, fields, copy_text(fields, first_id, columns, count, cutter))
        return count
    cutter = cutter or Terms(fields)
    rows = zip(range(first_id, first_id + count), cutter.of(columns, count), *columns, strict=True)
    names = ["_id", "_terms", *(f.column for f in fields)]
    column_list = ", ".join(f'"{n}"' for n in names)
    cursor = conn.connection.driver_connection.cursor()
    cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    try:
        marks = ", ".join("?" for _ in names)
        cursor.executemany(f'INSERT INTO "{described.name}" ({column_list}) VALUES ({marks})', rows)
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
    return count


def copy_text(
    fields: Sequence[Field],
    first_id: int,
    columns: Sequence[Sequence],
    count: int,
    cutter: Terms | None = None,
) -> str:
    """PostgreSQL: the COPY text (its text format) of `count` rows given as in `insert`, numbers as
    their texts allowed too (readers.column_converter's `texts`). Each column is formatted whole and
    the rows joined, every step a pass in C, where a CSV writer made each value's quoting its own
    decision. It needs no database, so a load makes the next batch's while the last one goes in
    (loader.py)."""
    cutter = cutter or Terms(fields)
    ids = map(str, range(first_id, first_id + count))
    texts = [_copy_column(column, field.storage) for column, field in zip(columns, fields, strict=True)]
    lines = map("\t".join, zip(ids, cutter.of(columns, count), *texts, strict=True))  # terms need no escape
    return "\n".join(lines) + "\n"


def _copy_column(column: Sequence, storage: str) -> Sequence[str]:
    """One column's values as COPY's text format writes them: NULL as \\N, booleans t and f, text with
    its backslashes and line and field separators escaped (checked for once for the whole column).
    A column of strings alone (no NULL: joining it refuses anything else, in one pass in C) is taken
    as it is when it holds numbers' texts, and searched for escapes joined as it is otherwise."""
    if storage == BOOL:
        return [_COPY_BOOLS[value] for value in column]
    joined = _joined(column)
    if joined is not None and storage not in (TEXT, JSON):  # numbers kept as their texts (readers.py)
        return column
    if storage in (TEXT, JSON):
        if _COPY_SPECIAL.search("".join(filter(None, column)) if joined is None else joined):
            column = [None if value is None else value.translate(_COPY_ESCAPES) for value in column]
        if joined is not None or None not in column:
            return column
        return [_COPY_NULL if value is None else value for value in column]
    if None in column:
        return [_COPY_NULL if value is None else str(value) for value in column]
    return list(map(str, column))


def _joined(column: Sequence) -> str | None:
    """The column's strings joined, or None when it holds anything but strings (a NULL, a number)."""
    try:
        return "".join(column)
    except TypeError:
        return None


def copy(conn: sa.Connection, described: sa.Table, fields: Sequence[Field], text: str) -> None:
    """PostgreSQL: COPY a batch's `copy_text` into the table."""
    # the rows can be loaded again from their source: a crash may lose the last batches' commits
    # (each with its count of rows loaded, so a resumed load starts after the last one kept)
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    column_list = ", ".join(f'"{n}"' for n in ["_id", "_terms", *(f.column for f in fields)])
    statement = f'COPY {SCHEMA}."{described.name}" ({column_list}) FROM STDIN'
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(statement) as copying:
            copying.write(text)


def index(
    conn: sa.Connection, table_name: str, fields: Sequence[Field], records: int, *, committed: bool = False
) -> None:
    """Give a loaded table of `records` rows its indexes: equality filters per field and, on SQLite, the
    FTS5 table (both from INDEXED_FROM rows), full text on PostgreSQL; then its statistics.

    PostgreSQL's full-text index is the dearest (each row's terms parsed, then a GIN build, which
    PostgreSQL 15 never spreads over workers: over half of a large table's indexing). When the table is
    `committed` (a load's is: every batch commits), it is built on a connection of its own while this
    one builds the B-trees, so that a second core works instead of waiting; its statistics are then
    left to `settle`, after the caller's commit."""
    dialect = conn.dialect.name
    name = physical_name(table_name, dialect)
    qualified = f'{SCHEMA}."{name}"' if dialect == "postgresql" else f'"{name}"'
    filtered = [f for f in fields if f.personal is None][:MAX_INDEXED] if records >= INDEXED_FROM else []
    if dialect == "postgresql":
        conn.exec_driver_sql(_INDEX_MEMORY)
        text_index = f'CREATE INDEX IF NOT EXISTS "{name}_search_idx" ON {qualified} USING gin ({VECTOR})'
        # the key's index: a unique B-tree on _id, built once over the loaded rows (a primary key kept
        # up to date row by row made COPY take 1.7 times the CPU)
        key_index = f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}_pkey" ON {qualified} (_id)'
        if committed:
            with ThreadPoolExecutor(1) as alongside:
                beside = alongside.submit(_committed, conn.engine, text_index)
                conn.exec_driver_sql(key_index)
                _field_indexes(conn, qualified, name, filtered)
                beside.result()
        else:
            conn.exec_driver_sql(key_index)
            _field_indexes(conn, qualified, name, filtered)
            conn.exec_driver_sql(text_index)
    else:
        _field_indexes(conn, qualified, name, filtered)
        if records >= INDEXED_FROM:  # FTS5, filled from the loaded terms in one statement
            fts = fts_name(table_name)
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{fts}"')
            conn.exec_driver_sql(f"CREATE VIRTUAL TABLE \"{fts}\" USING fts5(terms, content='')")
            conn.exec_driver_sql(f'INSERT INTO "{fts}" (rowid, terms) SELECT _id, _terms FROM {qualified}')
    if not (committed and dialect == "postgresql"):  # else settle() gathers them, with the vacuum
        conn.exec_driver_sql(f"ANALYZE {qualified}")


def settle(engine: sa.Engine, table_name: str) -> None:
    """PostgreSQL, once a load is committed: VACUUM (ANALYZE) the table.

    Its visibility map is then set, so counts and index-only scans read the index alone instead of
    fetching every matching row from the table; autovacuum would do it some time later (or never, where
    it is off). VACUUM cannot run inside a transaction, hence a connection of its own in autocommit."""
    if engine.dialect.name != "postgresql":
        return
    qualified = f'{SCHEMA}."{physical_name(table_name, engine.dialect.name)}"'
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {qualified}")


def _field_indexes(conn: sa.Connection, qualified: str, name: str, fields: Sequence[Field]) -> None:
    """Index each field for equality filters.

    On PostgreSQL each B-tree is on (field, _id): a filtered page is in _id order, so the index hands
    over its 100 rows in order instead of every matching row being read and sorted (about a thousand
    table pages for a common value of a million-row table, then a tenth of that). SQLite's indexes end
    in the rowid, which is _id, already."""
    postgresql = conn.dialect.name == "postgresql"
    for field in fields:
        index_name = f"{name}_{field.column}_idx"
        if postgresql and field.storage in (TEXT, JSON):
            _text_index(conn, qualified, index_name, field.column)
        else:
            key = f'"{field.column}", _id' if postgresql else f'"{field.column}"'
            conn.exec_driver_sql(f'CREATE INDEX IF NOT EXISTS "{index_name}" ON {qualified} ({key})')


def _committed(engine: sa.Engine, statement: str) -> None:
    """PostgreSQL: run an index build on a connection of its own, and commit it."""
    with engine.begin() as conn:
        conn.exec_driver_sql(_INDEX_MEMORY)
        conn.exec_driver_sql(statement)


def _text_index(conn: sa.Connection, qualified: str, index_name: str, column: str) -> None:
    """PostgreSQL: a B-tree on (column, _id) (built by sorting, compact for repeated values: a county
    column's hash index takes several times as long to build), or a hash index when a value is too long
    for a B-tree entry (over 2,700 bytes), which holds equality of any length."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(
                f'CREATE INDEX IF NOT EXISTS "{index_name}" ON {qualified} ("{column}", _id)'
            )
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != TOO_BIG:
            raise
        conn.exec_driver_sql(
            f'CREATE INDEX IF NOT EXISTS "{index_name}" ON {qualified} USING hash ("{column}")'
        )


def convert(value: object, storage: str) -> object:
    """Turn a source value into what the store keeps for a field of `storage`; raise ValueError."""
    if value is None or value == "":
        return None
    if storage == INT:
        if isinstance(value, bool):
            raise ValueError(value)
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
        if number is None:
            raise ValueError(value)
        return number
    if storage == FLOAT:
        if isinstance(value, bool):
            raise ValueError(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    if storage == BOOL:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("true", "t", "1", "yes"):
            return True
        if lowered in ("false", "f", "0", "no"):
            return False
        raise ValueError(value)
    if storage == JSON:
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else str(value)


def restore(value: object, storage: str) -> object:
    """Turn a stored value back into what the source gave."""
    if storage == JSON and isinstance(value, str):
        return json.loads(value)
    return value
