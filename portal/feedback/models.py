"""Feedback on the catalogue: error reports (数据纠错) on datasets and their resources."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.catalogue.models import Dataset, Resource

# What is wrong (kinds) and where the report stands (states); the rules are in feedback/reports.py.
KINDS = ("wrong_values", "outdated", "broken_link", "format", "personal_data", "other")
NEW, ACKNOWLEDGED, FIXED, REJECTED = "new", "acknowledged", "fixed", "rejected"
STATES = (NEW, ACKNOWLEDGED, FIXED, REJECTED)


class ErrorReport(db.Model):
    """A user's report of a problem with a dataset (or one of its resources), and the answer to it."""

    __tablename__ = "error_reports"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('wrong_values', 'outdated', 'broken_link', 'format', 'personal_data', 'other')",
            name="kind",
        ),
        CheckConstraint("state IN ('new', 'acknowledged', 'fixed', 'rejected')", name="state"),
        Index("ix_error_reports_dataset_state", "dataset_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    screenshot_key: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(15), default=NEW)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the first answer of any kind
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # fixed or rejected
    reply: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    dataset: Mapped[Dataset] = relationship()
    resource: Mapped[Resource | None] = relationship()
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def is_open(self) -> bool:
        return self.state in (NEW, ACKNOWLEDGED)
