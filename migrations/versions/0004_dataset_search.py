"""dataset search: terms table, FTS5 on SQLite, weighted tsvector on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00.000000

The dialect-specific objects below are not in the models; portal/dbschema.py hides
them from the autogenerate compare. Their names are written out here, not imported,
so that this revision keeps doing what it did whatever the code becomes.

After upgrading a database that already holds datasets, fill the index once with
`flask --app wsgi catalogue reindex` (`flask --app wsgi init` does it for rows it lacks).
"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = "title_terms, tag_terms, body_terms"

# External-content FTS5 over dataset_search, kept in step by triggers rather than from
# Python: rows also go by ON DELETE CASCADE from datasets and by bulk deletes, which
# Python never sees, and a stale FTS row would match the next dataset given that rowid.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE dataset_search_fts USING fts5("
    f"{COLUMNS}, content='dataset_search', content_rowid='dataset_id', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER dataset_search_ai AFTER INSERT ON dataset_search BEGIN "
    f"INSERT INTO dataset_search_fts(rowid, {COLUMNS}) "
    "VALUES (new.dataset_id, new.title_terms, new.tag_terms, new.body_terms); END",
    "CREATE TRIGGER dataset_search_ad AFTER DELETE ON dataset_search BEGIN "
    f"INSERT INTO dataset_search_fts(dataset_search_fts, rowid, {COLUMNS}) "
    "VALUES ('delete', old.dataset_id, old.title_terms, old.tag_terms, old.body_terms); END",
    "CREATE TRIGGER dataset_search_au AFTER UPDATE ON dataset_search BEGIN "
    f"INSERT INTO dataset_search_fts(dataset_search_fts, rowid, {COLUMNS}) "
    "VALUES ('delete', old.dataset_id, old.title_terms, old.tag_terms, old.body_terms); "
    f"INSERT INTO dataset_search_fts(rowid, {COLUMNS}) "
    "VALUES (new.dataset_id, new.title_terms, new.tag_terms, new.body_terms); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS dataset_search_au",
    "DROP TRIGGER IF EXISTS dataset_search_ad",
    "DROP TRIGGER IF EXISTS dataset_search_ai",
    "DROP TABLE IF EXISTS dataset_search_fts",
]

# The terms are space-separated lexemes already, so the 'simple' configuration only
# splits them; the generated column keeps itself current with no trigger.
POSTGRES_UP = [
    "ALTER TABLE dataset_search ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, title_terms), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, tag_terms), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, body_terms), 'C')) STORED",
    "CREATE INDEX ix_dataset_search_vector ON dataset_search USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_dataset_search_vector",
    "ALTER TABLE dataset_search DROP COLUMN IF EXISTS search_vector",
]


def upgrade():
    op.create_table(
        "dataset_search",
        sa.Column("dataset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title_terms", sa.Text(), nullable=False),
        sa.Column("tag_terms", sa.Text(), nullable=False),
        sa.Column("body_terms", sa.Text(), nullable=False),
        sa.Column("updated_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_search_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_dataset_search")),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN if dialect == "postgresql" else []:
        op.execute(statement)
    op.drop_table("dataset_search")
