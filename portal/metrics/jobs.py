"""The metrics area's background jobs (declared in portal/jobs/registry.py): the rollup and the purge."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.metrics import retention, rollup


def roll_up() -> str:
    """The job "metrics.rollup": roll up what is new; idempotent, so a retry or a second run is harmless."""
    result = rollup.roll_up(now=utcnow())
    db.session.commit()
    return f"rolled up {result.days} day(s), {result.events} event(s)"


def purge_events(days: int | None = None) -> str:
    """The job "metrics.purge_events": delete raw events past EVENT_RETENTION_DAYS whose days are final."""
    keep = days or int(current_app.config.get("EVENT_RETENTION_DAYS", 400))
    result = retention.purge(older_than=utcnow() - timedelta(days=keep))
    db.session.commit()
    return f"purged {result.deleted} event(s)"
