"""Activity events: one row per thing a visitor did, written cheaply, rolled up later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
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
