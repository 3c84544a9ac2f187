"""Deliver notifications: one row per reader, added to the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from portal.extensions import db
from portal.notices.models import Notification


def deliver(user_ids: Iterable[int], kind: str, *, now: datetime, reason: str = "", **subject) -> int:
    """Add one notification of `kind` about `subject` (application= or access_request=) per user; flush."""
    count = 0
    for user_id in user_ids:
        db.session.add(Notification(user_id=user_id, kind=kind, reason=reason, created_at=now, **subject))
        count += 1
    db.session.flush()
    return count
