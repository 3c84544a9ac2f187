"""indexes for the catalogue's sorts by downloads and by name

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 14:50:00

"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_datasets_state_downloads", ["state", "download_count", "metadata_modified", "id"], unique=False
        )
        batch_op.create_index("ix_datasets_state_title", ["state", "title", "name"], unique=False)


def downgrade():
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_datasets_state_title")
        batch_op.drop_index("ix_datasets_state_downloads")
