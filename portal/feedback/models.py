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


# Data requests (数据需求): open -> planned -> published (linked to a dataset), or declined with a reason.
OPEN, PLANNED, PUBLISHED, DECLINED = "open", "planned", "published", "declined"
REQUEST_STATUSES = (OPEN, PLANNED, PUBLISHED, DECLINED)


class DataRequest(db.Model):
    """A user's request for data not yet open: what, why, and which department might hold it."""

    __tablename__ = "data_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'planned', 'published', 'declined')", name="status"),
        CheckConstraint("status != 'published' OR dataset_id IS NOT NULL", name="published_has_dataset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(15), default=OPEN, index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    votes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    dataset: Mapped[Dataset | None] = relationship()


class DataRequestVote(db.Model):
    """One user's vote for a request: at most one each (the primary key)."""

    __tablename__ = "data_request_votes"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("data_requests.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DataRequestComment(db.Model):
    __tablename__ = "data_request_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


# Comments on datasets (issue 17 item 3): a new author's comment is held until a moderator approves it;
# reports of abuse past a threshold hide a shown one until a moderator looks again (feedback/comments.py).
HELD, SHOWN, HIDDEN, REMOVED = "held", "shown", "hidden", "removed"
COMMENT_STATES = (HELD, SHOWN, HIDDEN, REMOVED)


class DatasetComment(db.Model):
    """A user's comment on a dataset (Markdown, shown as sanitised HTML) and where moderation left it."""

    __tablename__ = "dataset_comments"
    __table_args__ = (
        CheckConstraint("state IN ('held', 'shown', 'hidden', 'removed')", name="state"),
        Index("ix_dataset_comments_dataset_state", "dataset_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True)
    reports: Mapped[int] = mapped_column(default=0)  # reports of abuse since a moderator last approved it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")  # why a moderator removed it, told to its author

    dataset: Mapped[Dataset] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class CommentReport(db.Model):
    """One user's report of a comment as abusive: at most one each (the primary key)."""

    __tablename__ = "dataset_comment_reports"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
