"""Notifications in the site: one row per reader, so each team member keeps their own read state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import COUNTY_MEMBER, User
from portal.applications.models import Application, Notification
from portal.extensions import db

APPROVED = "application_approved"
RETURNED = "application_returned"
MARKED = "application_marked_exemplary"
UNMARKED = "application_unmarked_exemplary"
KINDS = (APPROVED, RETURNED, MARKED, UNMARKED)


def notify_team(application: Application, kind: str, *, reason: str = "", now: datetime) -> int:
    """Add a notification for each active team member of the application's county; return how many."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    members = db.session.scalars(
        select(User.id).where(
            User.role == COUNTY_MEMBER, User.region_id == application.region_id, User.active.is_(True)
        )
    ).all()
    for user_id in members:
        db.session.add(
            Notification(user_id=user_id, kind=kind, application=application, reason=reason, created_at=now)
        )
    db.session.flush()
    return len(members)


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def of_user(user: User) -> Select:
    """Return the query of the user's notifications, newest first, for the caller to page."""
    return (
        select(Notification)
        .options(joinedload(Notification.application))
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_all_read(user: User, *, now: datetime) -> int:
    """Mark the user's unread notifications as read; return how many were."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
