"""sync_speed: reserved placeholder (no-op until filled in)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 11:00:00
"""

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
