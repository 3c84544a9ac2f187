"""feedback_polish: reserved placeholder (no-op until filled in)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 11:00:00
"""

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
