"""What the row store holds: one row per resource whose rows are loaded, with its columns and progress.

The rows themselves live in one table per resource (`rows.r_<resource id>` on PostgreSQL,
`rows_r_<resource id>` in the embedded SQLite database), created by `store.py` at load time because
their columns are the resource's own; this table, which the migrations create, says what each holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.catalogue.models import Resource
from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

LOADING, READY, FAILED = "loading", "ready", "failed"
DATASTORE, FILE = "datastore", "file"


class RowTable(db.Model):
    """The loaded rows of one resource: where they are, their columns, and how far a load got."""

    __tablename__ = "row_tables"
    __table_args__ = (
        CheckConstraint("status IN ('loading', 'ready', 'failed')", name="status"),
        CheckConstraint("origin IN ('datastore', 'file')", name="origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), unique=True)
    table_name: Mapped[str] = mapped_column(String(63), unique=True)
    origin: Mapped[str] = mapped_column(String(10))  # datastore | file
    checksum: Mapped[str] = mapped_column(String(200), default="")  # what the source was when loaded
    # [{"id": name, "type": CKAN type, "column": SQL column name, "personal": masking kind or null}]
    columns: Mapped[list] = mapped_column(db.JSON, default=list)
    records: Mapped[int] = mapped_column(BigInteger, default=0)  # rows loaded so far (the progress)
    expected: Mapped[int | None] = mapped_column(BigInteger)  # rows the source says it holds, if known
    status: Mapped[str] = mapped_column(String(10), default=LOADING)
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resource: Mapped[Resource] = relationship()

    @property
    def fields(self) -> int:
        return len(self.columns)
