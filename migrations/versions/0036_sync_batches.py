"""sync_batches: reserved for the batched sync (issue 20 item 3) (a placeholder until it is filled, removed if unused)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 13:45:00
"""

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
