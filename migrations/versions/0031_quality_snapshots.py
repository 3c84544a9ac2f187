"""quality_snapshots: quality trends per department and county (issue 17 item 4)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 07:45:00

One row per department and Shanghai day, written by the metrics rollup (metrics/quality_trends.py): the sums
of catalogue/quality.py's Tally, from which the quality board draws its trends.
"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "quality_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("datasets", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("broken_resources", sa.Integer(), nullable=False),
        sa.Column("openness_stars", sa.Integer(), nullable=False),
        sa.Column("fields_filled", sa.Integer(), nullable=False),
        sa.Column("fields_expected", sa.Integer(), nullable=False),
        sa.Column("taken_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.PrimaryKeyConstraint("day", "department_id"),
    )
    with op.batch_alter_table("quality_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quality_snapshots_department_id"), ["department_id"], unique=False
        )


def downgrade():
    op.drop_table("quality_snapshots")
