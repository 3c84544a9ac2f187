"""Notifications in the site: one row per reader, so each reader keeps their own read state.

A notification is about one subject, an application or an access request; `kind` says what happened.
County teams hear of their applications' reviews, the data office of submitted applications, and a
developer of the decision on their access request (`catalogue/access.py` tells them). The table and the
delivery are `portal/notices/`; the reader's list and its read state are here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import joinedload

from portal.accounts import mailing
from portal.accounts.models import ADMIN, COUNTY_MEMBER, User
from portal.applications.models import Application
from portal.catalogue.access import ACCESS_APPROVED, ACCESS_REJECTED
from portal.catalogue.models import AccessRequest
from portal.extensions import db
from portal.notices import inbox
from portal.notices.models import Notification

APPROVED = "application_approved"
RETURNED = "application_returned"
MARKED = "application_marked_exemplary"
UNMARKED = "application_unmarked_exemplary"
SUBMITTED = "application_submitted"  # to the data office
TEAM_KINDS = (APPROVED, RETURNED, MARKED, UNMARKED)
ACCESS_KINDS = (ACCESS_APPROVED, ACCESS_REJECTED)
KINDS = (*TEAM_KINDS, SUBMITTED, *ACCESS_KINDS)
EMAILED = {APPROVED: mailing.APPLICATION_APPROVED, RETURNED: mailing.APPLICATION_RETURNED}  # also by email


def notify_team(application: Application, kind: str, *, reason: str = "", now: datetime) -> int:
    """Add a notification for each active team member of the application's county; return how many."""
    if kind not in TEAM_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    members = list(
        db.session.scalars(
            select(User).where(
                User.role == COUNTY_MEMBER, User.region_id == application.region_id, User.active.is_(True)
            )
        )
    )
    count = inbox.deliver([m.id for m in members], kind, now=now, application=application, reason=reason)
    if kind in EMAILED:  # last: queueing a message commits the session
        link = mailing.link("applications.detail", application_id=application.id)
        context = {"application": application.name, "reason": reason, "link": link}
        mailing.email(members, EMAILED[kind], context)
    return count


def notify_office(application: Application, *, now: datetime) -> int:
    """Tell every active admin that a team submitted (or resubmitted) the application; return how many."""
    admins = select(User.id).where(User.role == ADMIN, User.active.is_(True))
    return inbox.deliver(db.session.scalars(admins), SUBMITTED, now=now, application=application)


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def of_user(user: User) -> Select:
    """Return the query of the user's notifications, newest first, for the caller to page."""
    return (
        select(Notification)
        .options(
            joinedload(Notification.application),
            joinedload(Notification.access_request).joinedload(AccessRequest.dataset),
        )
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


def mark_read(user: User, ids: Iterable[int], *, now: datetime) -> int:
    """Mark the user's notifications among `ids` as read (they were shown); return how many were unread."""
    ids = list(ids)
    if not ids:
        return 0
    return _mark(user, Notification.id.in_(ids), now=now)


def mark_read_about(user: User, application: Application, *, now: datetime) -> int:
    """Mark the user's notifications about `application` as read (its page was opened); return how many."""
    return _mark(user, Notification.application_id == application.id, now=now)


def _mark(user: User, which, *, now: datetime) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None), which)
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
