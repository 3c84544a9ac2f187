"""dataset_comments: dataset comments with moderation (issue 17 item 3)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 07:45:00

Reserved for the change named above; it alters nothing until that change fills it in.
"""

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    return None


def downgrade():
    return None
