"""job_records: background jobs, their state, attempts and last error (issue 14)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 05:20:00

"""

import sqlalchemy as sa
from alembic import op

from portal.dbtypes import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("rq_id", sa.String(length=64), nullable=True),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("enqueued_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'started', 'retrying', 'finished', 'failed')",
            name=op.f("ck_job_records_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_records")),
    )
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_records_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_records_enqueued_at"), ["enqueued_at"], unique=False)
        batch_op.create_index("ix_job_records_state_enqueued_at", ["state", "enqueued_at"], unique=False)


def downgrade():
    op.drop_table("job_records")
