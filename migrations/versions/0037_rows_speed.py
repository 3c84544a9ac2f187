"""rows_speed: reserved for the row store's speed (issue 16) (a placeholder until it is filled, removed if unused)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 13:45:00
"""

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
