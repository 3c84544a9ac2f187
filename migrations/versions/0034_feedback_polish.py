"""feedback_polish: notifications about a data request or an error report (the deciders are told of new ones)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

SUBJECTS = (("data_request_id", "data_requests"), ("error_report_id", "error_reports"))


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        for column, table in SUBJECTS:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_notifications_{column}"), [column])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_notifications_{column}_{table}"), table, [column], ["id"], ondelete="CASCADE"
            )


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        for column, table in SUBJECTS:
            batch_op.drop_constraint(batch_op.f(f"fk_notifications_{column}_{table}"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_notifications_{column}"))
            batch_op.drop_column(column)
