"""usage_monitoring: behaviour monitoring: daily usage, thresholds, suspended tokens (issue 15 item 5)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 07:45:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "usage_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("row_calls", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_usage_days_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("day", "user_id", "token_id", name=op.f("pk_usage_days")),
    )
    op.create_table(
        "usage_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_usage_alerts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_alerts")),
        sa.UniqueConstraint("day", "user_id", "token_id", "metric", "level", name="uq_usage_alerts_once"),
    )
    op.create_index("ix_usage_alerts_day", "usage_alerts", ["day"], unique=False)
    op.create_index(op.f("ix_usage_alerts_user_id"), "usage_alerts", ["user_id"], unique=False)
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("suspended_at", portal.dbtypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("suspension_reason", sa.String(length=300), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("suspension_reason")
        batch_op.drop_column("suspended_at")
    op.drop_index(op.f("ix_usage_alerts_user_id"), table_name="usage_alerts")
    op.drop_index("ix_usage_alerts_day", table_name="usage_alerts")
    op.drop_table("usage_alerts")
    op.drop_table("usage_days")
