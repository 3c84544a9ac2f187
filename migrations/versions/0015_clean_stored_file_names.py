"""clean the stored names of contest attachments and application files

Names were kept with control characters and direction overrides (a newline in one made its download answer
500); uploads now clean them with portal.filetypes.clean_name, and this cleans those stored before.
Nothing to undo: the cleaned names are what the uploads keep from now on.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:00:00

"""

import sqlalchemy as sa
from alembic import op

from portal.filetypes import clean_name

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    for name in ("entry_files", "application_files"):
        table = sa.table(name, sa.column("id", sa.Integer()), sa.column("filename", sa.String()))
        for file_id, filename in connection.execute(sa.select(table.c.id, table.c.filename)).all():
            cleaned = clean_name(filename)
            if cleaned != filename:
                connection.execute(table.update().where(table.c.id == file_id).values(filename=cleaned))


def downgrade():
    pass
