"""rounds: who closed submissions or judging early ("close now"), and when

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 02:50:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        for window in ("submission", "judging"):
            batch_op.add_column(sa.Column(f"{window}_closed_at", portal.dbtypes.UTCDateTime(), nullable=True))
            batch_op.add_column(sa.Column(f"{window}_closed_by_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_rounds_{window}_closed_by_id_users"),
                "users",
                [f"{window}_closed_by_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade():
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        for window in ("judging", "submission"):
            batch_op.drop_constraint(batch_op.f(f"fk_rounds_{window}_closed_by_id_users"), type_="foreignkey")
            batch_op.drop_column(f"{window}_closed_by_id")
            batch_op.drop_column(f"{window}_closed_at")
