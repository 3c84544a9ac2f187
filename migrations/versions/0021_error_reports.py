"""error_reports (数据纠错) and preview_holds: a report that personal data is exposed withholds the dataset's
previews until it is answered (issue 17 item 1)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 06:20:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "error_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("screenshot_key", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=15), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("due_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("replied_at", portal.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", portal.dbtypes.UTCDateTime(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('wrong_values', 'outdated', 'broken_link', 'format', 'personal_data', 'other')",
            name=op.f("ck_error_reports_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'fixed', 'rejected')", name=op.f("ck_error_reports_state")
        ),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("error_reports", schema=None) as batch_op:
        batch_op.create_index("ix_error_reports_dataset_state", ["dataset_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_error_reports_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_error_reports_created_at"), ["created_at"], unique=False)
    op.create_table(
        "preview_holds",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("since", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id"),
    )


def downgrade():
    op.drop_table("preview_holds")
    with op.batch_alter_table("error_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_error_reports_created_at"))
        batch_op.drop_index(batch_op.f("ix_error_reports_reporter_id"))
        batch_op.drop_index("ix_error_reports_dataset_state")
    op.drop_table("error_reports")
