"""dataset_ratings (1-5 stars, one per user and dataset) and datasets.rating_count / rating_mean, which the
cards, pages, API and the sort by rating read (issue 17 item 3)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 06:30:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dataset_ratings",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_dataset_ratings_stars")),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id", "user_id"),
    )
    with op.batch_alter_table("dataset_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_ratings_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rating_mean", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("rating_mean")
        batch_op.drop_column("rating_count")
    op.drop_table("dataset_ratings")
