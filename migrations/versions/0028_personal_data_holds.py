"""personal_data_holds: personal data held back at sync (issue 15 item 2)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 07:45:00

Reserved for the change named above; it alters nothing until that change fills it in.
"""

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    return None


def downgrade():
    return None
