"""data_requests (数据需求), one vote per user (data_request_votes) and comments (issue 17 item 2)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 06:25:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("answered_at", portal.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'planned', 'published', 'declined')", name=op.f("ck_data_requests_status")
        ),
        sa.CheckConstraint(
            "status != 'published' OR dataset_id IS NOT NULL",
            name=op.f("ck_data_requests_published_has_dataset"),
        ),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_requests_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_requests_requester_id"), ["requester_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_data_requests_status"), ["status"], unique=False)
    op.create_table(
        "data_request_votes",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["data_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "user_id"),
    )
    op.create_table(
        "data_request_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["data_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("data_request_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_request_comments_request_id"), ["request_id"], unique=False)


def downgrade():
    op.drop_table("data_request_comments")
    op.drop_table("data_request_votes")
    op.drop_table("data_requests")
