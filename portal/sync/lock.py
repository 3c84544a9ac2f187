"""One sync at a time, across processes: a row in `sync_locks` with a heartbeat.

A lock whose heartbeat is older than `stale_after` belongs to a run that died
(killed, or its machine lost); the next run takes it over.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.sync.models import SyncLock

NAME = "catalogue"
STALE_AFTER = timedelta(minutes=10)


class SyncBusy(Exception):
    """Another sync holds the lock."""


def acquire(run_id: int | None = None, *, stale_after: timedelta = STALE_AFTER) -> None:
    """Take the lock and commit, or raise SyncBusy."""
    now = utcnow()
    try:
        db.session.execute(insert(SyncLock).values(name=NAME, run_id=run_id, heartbeat_at=now))
        db.session.commit()
        return
    except IntegrityError:
        db.session.rollback()
    taken = db.session.execute(
        update(SyncLock)
        .where(SyncLock.name == NAME, SyncLock.heartbeat_at < now - stale_after)
        .values(run_id=run_id, heartbeat_at=now)
    ).rowcount
    db.session.commit()
    if taken != 1:
        raise SyncBusy()


def attach(run_id: int) -> None:
    """Record which run holds the lock (the run is created after the lock is taken)."""
    db.session.execute(update(SyncLock).where(SyncLock.name == NAME).values(run_id=run_id))


def beat() -> None:
    """Refresh the heartbeat; the caller commits."""
    db.session.execute(update(SyncLock).where(SyncLock.name == NAME).values(heartbeat_at=utcnow()))


def release() -> None:
    db.session.execute(delete(SyncLock).where(SyncLock.name == NAME))
    db.session.commit()


def holder() -> SyncLock | None:
    return db.session.get(SyncLock, NAME)
