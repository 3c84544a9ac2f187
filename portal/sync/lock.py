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


class LockLost(Exception):
    """This run's lock went stale and another run took it over; this run must stop."""


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


def _owned_by(run_id: int | None):
    held = SyncLock.run_id.is_(None) if run_id is None else SyncLock.run_id == run_id
    return (SyncLock.name == NAME) & held


def beat(run_id: int) -> None:
    """Refresh the heartbeat of the lock `run_id` holds; raise LockLost when it holds none."""
    done = db.session.execute(update(SyncLock).where(_owned_by(run_id)).values(heartbeat_at=utcnow()))
    if done.rowcount != 1:
        raise LockLost(f"run {run_id} lost the sync lock")


def release(run_id: int | None) -> None:
    """Free the lock if `run_id` still holds it (a run that lost it frees nothing)."""
    db.session.execute(delete(SyncLock).where(_owned_by(run_id)))
    db.session.commit()


def reclaim(run_id: int) -> None:
    """Take the lock back for `run_id`, whose earlier attempt died holding it, and commit; take it
    when nobody holds it; raise SyncBusy when another run holds it."""
    held = db.session.execute(update(SyncLock).where(_owned_by(run_id)).values(heartbeat_at=utcnow()))
    db.session.commit()
    if held.rowcount != 1:
        acquire(run_id)


def holder() -> SyncLock | None:
    return db.session.get(SyncLock, NAME)
