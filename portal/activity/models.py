"""Activity records: one row per thing a visitor did, and the daily marks that count a download once.

The lowest layer of the areas: accounts, the catalogue and the API record here (`events.record`), and the
metrics area rolls the records up into its dashboards. IP addresses are never stored in clear.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

KINDS = ("page_view", "dataset_view", "download", "api_call", "search", "sign_in")


class ActivityEvent(db.Model):
    """Who (a user, or a hashed anonymous visitor id) did what, when, on which dataset.

    IP addresses are never stored in clear: only a salted hash.
    """

    __tablename__ = "activity_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('page_view', 'dataset_view', 'download', 'api_call', 'search', 'sign_in')", name="kind"
        ),
        Index("ix_activity_events_kind_occurred", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    visitor_hash: Mapped[str | None] = mapped_column(String(64))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))  # the user's county then
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(String(300), default="")
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(default=False)


class DownloadMark(db.Model):
    """That someone downloaded a dataset (`resource_id` 0) or one of its resources on a Shanghai day.

    A download moves the download counts only when it adds a mark, so each user or anonymous visitor
    counts once per dataset, and once per resource, per day (`catalogue/downloads.py`). `who` is
    "user:<id>", or a salted hash of an anonymous visitor's address. Marks of past days are pruned.
    """

    __tablename__ = "download_marks"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    who: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    resource_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
