"""notifications: about an access request as well as an application

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_request_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_notifications_access_request_id"), ["access_request_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_access_request_id_access_requests"),
            "access_requests",
            ["access_request_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_access_request_id_access_requests"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_notifications_access_request_id"))
        batch_op.drop_column("access_request_id")
