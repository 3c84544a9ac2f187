"""usage_monitoring: behaviour monitoring: daily usage, thresholds, suspended tokens (issue 15 item 5)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 07:45:00

Reserved for the change named above; it alters nothing until that change fills it in.
"""

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    return None


def downgrade():
    return None
