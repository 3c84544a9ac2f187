"""quality_snapshots: quality trends per department and county (issue 17 item 4)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 07:45:00

Reserved for the change named above; it alters nothing until that change fills it in.
"""

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    return None


def downgrade():
    return None
