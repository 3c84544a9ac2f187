"""audit_chain: reserved placeholder (no-op until filled in)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 11:00:00
"""

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
