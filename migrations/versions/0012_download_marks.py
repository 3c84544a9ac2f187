"""download_marks: a download counts once per user or visitor, dataset (and resource) and day

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "download_marks",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("resource_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("day", "who", "dataset_id", "resource_id", name=op.f("pk_download_marks")),
    )


def downgrade():
    op.drop_table("download_marks")
