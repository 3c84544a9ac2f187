"""link_checks: the latest link-health check of each linked resource (issue 17 item 4)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 06:35:00

"""

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "link_checks",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", portal.dbtypes.UTCDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("broken", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_link_checks_resource_id_resources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("resource_id", name=op.f("pk_link_checks")),
    )


def downgrade():
    op.drop_table("link_checks")
