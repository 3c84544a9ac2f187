"""sync identity changes: records that kept their history when CKAN gave their name a new id

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 02:30:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("relinked", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "sync_identity_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("old_ckan_id", sa.String(length=100), nullable=False),
        sa.Column("new_ckan_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('dataset', 'organization')", name=op.f("ck_sync_identity_changes_kind")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_identity_changes_run_id_sync_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_identity_changes")),
    )
    with op.batch_alter_table("sync_identity_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_identity_changes_run_id"), ["run_id"], unique=False)


def downgrade():
    with op.batch_alter_table("sync_identity_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_identity_changes_run_id"))
    op.drop_table("sync_identity_changes")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("relinked")
