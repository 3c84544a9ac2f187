"""team_members become invitations: a status, a token, and the user who accepted

Addresses listed before this revision never accepted anything, so they become pending invitations: they
lose access to their teams until the invited person accepts with the link the captain passes on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:45:00

"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), server_default="pending", nullable=False)
        )
        batch_op.add_column(sa.Column("token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("invited_at", portal.dbtypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("answered_at", portal.dbtypes.UTCDateTime(), nullable=True))
    members = sa.table(
        "team_members",
        sa.column("id", sa.Integer()),
        sa.column("token", sa.String()),
        sa.column("invited_at", portal.dbtypes.UTCDateTime()),
    )
    connection = op.get_bind()
    now = datetime.now(UTC)
    for (member_id,) in connection.execute(sa.select(members.c.id)).all():
        token = secrets.token_urlsafe(32)
        connection.execute(
            members.update().where(members.c.id == member_id).values(token=token, invited_at=now)
        )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)
        batch_op.alter_column("token", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("invited_at", existing_type=portal.dbtypes.UTCDateTime(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_team_members_token"), ["token"])
        batch_op.create_index(batch_op.f("ix_team_members_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_team_members_user_id_users"), "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_team_members_status"), "status IN ('pending', 'accepted', 'declined', 'revoked')"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_team_members_accepted_has_user"), "status <> 'accepted' OR user_id IS NOT NULL"
        )


def downgrade():
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_team_members_accepted_has_user"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_team_members_status"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_team_members_user_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_team_members_user_id"))
        batch_op.drop_constraint(batch_op.f("uq_team_members_token"), type_="unique")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("invited_at")
        batch_op.drop_column("user_id")
        batch_op.drop_column("token")
        batch_op.drop_column("status")
