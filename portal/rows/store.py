"""The per-resource row tables: their shape, creation, bulk inserts, indexes and removal.

One table per resource, named from the resource's database id: `rows.r_<id>` on PostgreSQL (a schema of
its own, created by revision 0017), `rows_r_<id>` in the embedded SQLite database. Its columns are
`_id` (1, 2, … in the source's order, as CKAN's DataStore numbers rows), `_terms` (the search terms of
the row's non-personal text, see catalogue/terms.py) and one column `c<n>` per field, so that no field
name, however hostile, ever reaches SQL. Full text: a GIN index on the terms' tsvector on PostgreSQL,
a contentless FTS5 table `rows_r_<id>_fts` on SQLite. Indexes for equality filters are made after a load.

Every function takes the SQLAlchemy connection it works on; none commits.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from portal.catalogue import terms

SCHEMA = "rows"  # PostgreSQL
VECTOR = "to_tsvector('simple'::regconfig, _terms)"  # PostgreSQL: the full-text index's expression
INT, FLOAT, BOOL, TEXT, JSON = "int", "float", "bool", "text", "json"  # how a field is stored
MAX_INDEXED = 24  # fields given an index for filtering; wider tables filter the rest by scan
MAX_TERMS_TEXT = 4000  # characters of a row's text that go into its search terms

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
    if dialect != "postgresql":
        conn.exec_driver_sql(f"CREATE VIRTUAL TABLE \"{fts_name(table_name)}\" USING fts5(terms, content='')")
    return described


def drop(conn: sa.Connection, table_name: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS {SCHEMA}."{table_name}"')
    else:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{fts_name(table_name)}"')
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{physical_name(table_name, "sqlite")}"')


def row_terms(values: Sequence[object], searchable: Sequence[bool]) -> str:
    """Return the search terms of a row: of its text in the fields that are not personal."""
    text = " ".join(str(v) for v, s in zip(values, searchable, strict=True) if s and v is not None)
    return terms.terms_text(text[:MAX_TERMS_TEXT]) if text else ""


def insert(
    conn: sa.Connection, described: sa.Table, fields: Sequence[Field], first_id: int, rows: Iterable[Sequence]
) -> int:
    """Insert rows (values already converted, in field order) numbered from `first_id`; return how many.

    PostgreSQL takes them through COPY, SQLite through one prepared statement run many times.
    """
    searchable = [f.personal is None and f.storage in (TEXT, JSON) for f in fields]
    prepared = []
    for offset, values in enumerate(rows):
        prepared.append((first_id + offset, row_terms(values, searchable), *values))
    if not prepared:
        return 0
    names = ["_id", "_terms", *(f.column for f in fields)]
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        column_list = ", ".join(f'"{n}"' for n in names)
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY {SCHEMA}."{described.name}" ({column_list}) FROM STDIN') as copy:
                for row in prepared:
                    copy.write_row(row)
    else:
        cursor = conn.connection.driver_connection.cursor()
        marks = ", ".join("?" for _ in names)
        column_list = ", ".join(f'"{n}"' for n in names)
        cursor.executemany(f'INSERT INTO "{described.name}" ({column_list}) VALUES ({marks})', prepared)
        fts = fts_name(described.name.removeprefix("rows_"))
        cursor.executemany(
            f'INSERT INTO "{fts}" (rowid, terms) VALUES (?, ?)', [(r[0], r[1]) for r in prepared]
        )
    return len(prepared)


def index(conn: sa.Connection, table_name: str, fields: Sequence[Field]) -> None:
    """Give a loaded table its indexes: equality filters per field, full text on PostgreSQL."""
    dialect = conn.dialect.name
    name = physical_name(table_name, dialect)
    qualified = f'{SCHEMA}."{name}"' if dialect == "postgresql" else f'"{name}"'
    if dialect == "postgresql":  # room to build the full-text index in memory (the transaction's only)
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for number, field in enumerate(f for f in fields if f.personal is None):
        if number >= MAX_INDEXED:
            break
        index_name = f"{name}_{field.column}_idx"
        if dialect == "postgresql":
            # a hash index: equality of any length of text (a B-tree refuses entries over 2,700 bytes)
            method = "hash" if field.storage in (TEXT, JSON) else "btree"
            conn.exec_driver_sql(
                f'CREATE INDEX IF NOT EXISTS "{index_name}" ON {qualified} USING {method} ("{field.column}")'
            )
        else:
            conn.exec_driver_sql(
                f'CREATE INDEX IF NOT EXISTS "{index_name}" ON {qualified} ("{field.column}")'
            )
    if dialect == "postgresql":
        conn.exec_driver_sql(
            f'CREATE INDEX IF NOT EXISTS "{name}_search_idx" ON {qualified} USING gin ({VECTOR})'
        )
    conn.exec_driver_sql(f"ANALYZE {qualified}")


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
