"""dataset_comments: dataset comments with moderation (issue 17 item 3)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 07:45:00

dataset_comments (held until approved while their author is new, hidden past a number of reports of abuse,
removed with a reason) and dataset_comment_reports (one report per user and comment).
"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dataset_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("moderated_at", portal.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('held', 'shown', 'hidden', 'removed')", name=op.f("ck_dataset_comments_state")
        ),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["moderated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dataset_comments", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_comments_dataset_state", ["dataset_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_dataset_comments_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_dataset_comments_user_id"), ["user_id"], unique=False)
    op.create_table(
        "dataset_comment_reports",
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["dataset_comments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comment_id", "user_id"),
    )


def downgrade():
    op.drop_table("dataset_comment_reports")
    op.drop_table("dataset_comments")
