"""user_language: each user's saved interface language, for emails (issue 17 item 6)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 07:45:00

users.language: the interface language a user last chose (the language switch) or signed in with; the
workflow emails (accounts/mailing.py) are written in it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language")
