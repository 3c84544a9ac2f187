"""user_language: each user's saved interface language, for emails (issue 17 item 6)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 07:45:00

Reserved for the change named above; it alters nothing until that change fills it in.
"""

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    return None


def downgrade():
    return None
