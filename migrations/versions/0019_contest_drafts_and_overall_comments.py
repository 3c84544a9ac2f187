"""contests: published_at (a contest is a draft until the office publishes it); judge_assignments:
overall_comment (a judge's comment on the whole entry beside the per-criterion ones)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 05:40:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", portal.dbtypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("published_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_contests_published_by_id_users"), "users", ["published_by_id"], ["id"], ondelete="SET NULL"
        )
    # Contests made before drafts existed were public from their creation: they stay so.
    op.execute("UPDATE contests SET published_at = created_at")
    with op.batch_alter_table("judge_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overall_comment", sa.Text(), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("judge_assignments", schema=None) as batch_op:
        batch_op.drop_column("overall_comment")
    with op.batch_alter_table("contests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contests_published_by_id_users"), type_="foreignkey")
        batch_op.drop_column("published_by_id")
        batch_op.drop_column("published_at")
