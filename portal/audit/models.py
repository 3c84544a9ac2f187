"""The audit log: one append-only row per privileged or sensitive action (issue 15 item 4).

Rows are never updated or deleted by the portal (except by retention, from the oldest end).
Each row carries the hash of the row before it (`prev_hash`) and its own hash over its
content and that link, so a row changed or removed shows as a broken link (audit/log.py).
The chain's head (the last row's hash) is kept in a one-row table, `audit_chain`: moving it
is how a writer takes its place in the chain, so two writers can never link to the same row.
Who acted is kept as an id and a label, not as a foreign key: deleting a user must not
rewrite the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime
from portal.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None]  # no index: no query asks by id (the admin's filter is on `actor`)
    actor: Mapped[str] = mapped_column(String(200))  # the user's name, or "system" / "anonymous"
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    client: Mapped[str] = mapped_column(String(64))  # keyed hash of the client's address, or ""
    prev_hash: Mapped[str] = mapped_column(String(64))  # no unique index: audit_chain keeps the chain whole
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(db.Model):
    """The chain's head: one row (id 1), moved in the same transaction as each row is appended.

    Its row lock serialises writers until they commit; `prev_hash` is the head before the last move
    (PostgreSQL's UPDATE … RETURNING gives only new values, and the appending statement needs both)."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
