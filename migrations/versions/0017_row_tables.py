"""row_tables: which resources' rows the row store holds, their columns and load progress (issue 16)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:10:00

The per-resource tables themselves are created by portal/rows/store.py when rows are loaded. On
PostgreSQL they live in the schema `rows`, created here.
"""

import sqlalchemy as sa
from alembic import op

from portal.dbtypes import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "row_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("checksum", sa.String(length=200), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('loading', 'ready', 'failed')", name=op.f("ck_row_tables_status")),
        sa.CheckConstraint("origin IN ('datastore', 'file')", name=op.f("ck_row_tables_origin")),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_row_tables_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_row_tables")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_row_tables_resource_id")),
        sa.UniqueConstraint("table_name", name=op.f("uq_row_tables_table_name")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS rows")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS rows CASCADE")
    else:
        bind = op.get_bind()
        names = [
            r[0]
            for r in bind.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rows\\_r\\_%' ESCAPE '\\'"
            )
        ]
        for name in names:
            op.execute(f'DROP TABLE IF EXISTS "{name}"')
    op.drop_table("row_tables")
