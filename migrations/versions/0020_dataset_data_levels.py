"""datasets: data_level, the dataset's grade (分级) from CKAN's `data_level` extra: 1 to 4, NULL when
ungraded; an unknown value is stored as 4, the strictest (issue 15 item 1)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 06:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_level", sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("data_level")
