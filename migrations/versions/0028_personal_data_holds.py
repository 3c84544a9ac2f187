"""personal_data_holds: personal data held back at sync (issue 15 item 2)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 07:45:00

A dataset whose tabular resources show unmasked personal data is held for the office's review
(待脱敏审核) instead of published: one row per scanned dataset (held, released or clear, with the
fingerprint of the data scanned), and the runs count the held ones.
"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "personal_data_holds",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("held_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("released_at", portal.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('held', 'released', 'clear')", name=op.f("ck_personal_data_holds_status")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_personal_data_holds_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_personal_data_holds_run_id_sync_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["users.id"],
            name=op.f("fk_personal_data_holds_released_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_personal_data_holds")),
    )
    op.create_index(op.f("ix_personal_data_holds_status"), "personal_data_holds", ["status"], unique=False)
    with op.batch_alter_table("sync_runs") as batch_op:
        batch_op.add_column(sa.Column("held", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("sync_runs") as batch_op:
        batch_op.drop_column("held")
    op.drop_index(op.f("ix_personal_data_holds_status"), table_name="personal_data_holds")
    op.drop_table("personal_data_holds")
