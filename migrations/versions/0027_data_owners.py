"""data_owners: data owners bound to departments (issue 15 item 3)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 07:45:00

Reserved for the change named above; it alters nothing until that change fills it in.
"""

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    return None


def downgrade():
    return None
