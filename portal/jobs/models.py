"""The record of background jobs, kept in the database so that every node's admin pages see it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

QUEUED = "queued"
STARTED = "started"
RETRYING = "retrying"  # the last attempt failed; RQ tries again after its backoff
FINISHED = "finished"
FAILED = "failed"  # the last attempt failed too: the admins see the error
STATES = (QUEUED, STARTED, RETRYING, FINISHED, FAILED)


class JobRecord(db.Model):
    """One enqueued job: what it runs, its state, its attempts and its last error."""

    __tablename__ = "job_records"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'started', 'retrying', 'finished', 'failed')", name="state"),
        Index("ix_job_records_state_enqueued_at", "state", "enqueued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)  # the registered job, e.g. "sync.run"
    queue: Mapped[str] = mapped_column(String(40), default="default")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    rq_id: Mapped[str | None] = mapped_column(String(64))  # None when it ran in-process
    node: Mapped[str] = mapped_column(String(200), default="")  # the host and process of the last attempt
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
