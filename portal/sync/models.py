"""The record of sync runs: when, what changed, what failed, and how far the watermark moved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

RUNNING = "running"
SUCCEEDED = "succeeded"
PARTIAL = "partial"  # finished, but some datasets failed: the watermark stays
FAILED = "failed"


class SyncSource(db.Model):
    """A CKAN (by URL) or a dump file, with the watermark of its last clean run."""

    __tablename__ = "sync_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    location: Mapped[str] = mapped_column(String(1000), unique=True)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncRun(db.Model):
    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'partial', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sync_sources.id"), index=True)
    full: Mapped[bool] = mapped_column(default=False)
    mirror: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=RUNNING)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    seen: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    withdrawn: Mapped[int] = mapped_column(default=0)
    restored: Mapped[int] = mapped_column(default=0)
    relinked: Mapped[int] = mapped_column(default=0, server_default="0")  # records that took a new CKAN id
    held: Mapped[int] = mapped_column(default=0, server_default="0")  # held for personal data (待脱敏审核)
    failed: Mapped[int] = mapped_column(default=0)
    watermark_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    watermark_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text, default="")

    source: Mapped[SyncSource] = relationship()
    errors: Mapped[list[SyncError]] = relationship(
        back_populates="run", order_by="SyncError.id", cascade="all, delete-orphan"
    )

    @property
    def is_running(self) -> bool:
        return self.status == RUNNING


class SyncError(db.Model):
    """One dataset or resource that a run could not take, and why."""

    __tablename__ = "sync_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    package: Mapped[str] = mapped_column(String(200), default="")  # CKAN id or name
    resource: Mapped[str] = mapped_column(String(200), default="")
    stage: Mapped[str] = mapped_column(String(20))  # read | validate | write | mirror | volume
    message: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    run: Mapped[SyncRun] = relationship(back_populates="errors")


class SyncIdentityChange(db.Model):
    """A department or dataset that kept its history under a new CKAN id: its name came back with
    a new id while the old id was gone from CKAN's public catalogue."""

    __tablename__ = "sync_identity_changes"
    __table_args__ = (CheckConstraint("kind IN ('dataset', 'organization')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    record_id: Mapped[int]  # datasets.id or departments.id: the row that kept its history
    name: Mapped[str] = mapped_column(String(100))
    old_ckan_id: Mapped[str] = mapped_column(String(100))
    new_ckan_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncLock(db.Model):
    """At most one row: the run that holds the sync. A stale heartbeat frees it."""

    __tablename__ = "sync_locks"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


HELD = "held"  # 待脱敏审核: unmasked personal data found, not published
RELEASED = "released"  # the office released it: published until CKAN's data changes
CLEAR = "clear"  # scanned, nothing found


class PersonalDataHold(db.Model):
    """The personal data scan of a dataset: held (unmasked personal data found, or a sample not read),
    released by the office, or clear; what was found; and the fingerprint of the CKAN data scanned.

    The dataset itself is withdrawn with the reason `personal_data` (catalogue/rules.py) while the hold is
    `held`. A dataset is scanned again only when its fingerprint changes (sync/screen.py); one without a
    row has never been scanned (the next full run does). The audit log keeps the history."""

    __tablename__ = "personal_data_holds"
    __table_args__ = (CheckConstraint("status IN ('held', 'released', 'clear')", name="status"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=HELD, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # [{"resource", "resource_name", "column", "rule", "rows", "sample"}]: the sample masked
    findings: Mapped[list] = mapped_column(JSON, default=list)
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [{"resource", "resource_name", "message"}]
    held_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # when the status was found
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    release_reason: Mapped[str | None] = mapped_column(Text)

    dataset = relationship("Dataset")
    released_by = relationship("User")
