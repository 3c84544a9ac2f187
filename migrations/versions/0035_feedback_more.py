"""feedback_more: reserved for the issue 17 audit (feedback, quality) (a placeholder until it is filled, removed if unused)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 13:45:00
"""

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
