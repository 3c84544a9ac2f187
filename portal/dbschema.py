"""Schema objects that only the migrations create, and the filter that hides them from Alembic.

The search index has one part per database that SQLAlchemy's models cannot describe:
an FTS5 virtual table (with its shadow tables and triggers) on SQLite, and a generated
tsvector column with its GIN index on PostgreSQL. Revision 0004 creates them; the
autogenerate compare in `migrations/env.py` and in the migrations test skips them through
`include_object`, so that models and migrations still compare equal on both databases.
"""

from __future__ import annotations

FTS_TABLE = "dataset_search_fts"  # SQLite; FTS5 adds dataset_search_fts_data, _idx, _docsize, _config
VECTOR_COLUMN = "search_vector"  # PostgreSQL, on dataset_search
VECTOR_INDEX = "ix_dataset_search_vector"  # PostgreSQL, GIN on search_vector
ROW_TABLES = "rows_r_"  # SQLite: portal/rows/store.py's per-resource tables (PostgreSQL keeps them in `rows`)


def include_object(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Tell Alembic's compare to skip the search objects that exist only in the migrations."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    if type_ == "table" and name and name.startswith(ROW_TABLES):  # the row store's, made at load time
        return False
    if type_ == "column" and name == VECTOR_COLUMN and obj.table.name == "dataset_search":
        return False
    if type_ == "index" and name == VECTOR_INDEX:
        return False
    return True
