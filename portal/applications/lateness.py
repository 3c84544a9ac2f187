"""Filing late: an application first submitted after its quarter ended (Asia/Shanghai) is filed late.

A late application (补报) is kept and reviewed like any other, but it does not meet its quarter's quota:
the board counts it apart. The office may also close filing altogether some days after a quarter ends
(`APPLICATION_LATE_GRACE_DAYS`): unset means late filings are accepted and counted apart; a number N
means a first submission more than N days after the quarter's end is refused (0 refuses any late filing).
A returned application resubmitted after the quarter keeps the date of its first submission.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal import clock
from portal.applications.models import Application, ApplicationTransition
from portal.extensions import db


def deadline(quarter: str) -> datetime:
    """Return the moment (aware, UTC) filing for `quarter` stops being on time: the quarter's end."""
    return clock.quarter_bounds(quarter)[1]


def is_late(quarter: str, filed_at: datetime | None) -> bool:
    """Tell whether a first submission at `filed_at` is late for `quarter`; never for an unfiled one."""
    return filed_at is not None and filed_at >= deadline(quarter)


def is_past_grace(quarter: str, now: datetime, grace_days: int | None) -> bool:
    """Tell whether filing for `quarter` is closed at `now` under the office's grace period."""
    return grace_days is not None and now >= deadline(quarter) + timedelta(days=grace_days)


def first_submissions():
    """Select (application id, first submission time) for every submitted application."""
    return (
        select(ApplicationTransition.application_id, func.min(ApplicationTransition.occurred_at).label("at"))
        .where(ApplicationTransition.action == "submit")
        .group_by(ApplicationTransition.application_id)
    )


def filed_at(application: Application) -> datetime | None:
    """Return when `application` was first submitted, or None if it never was."""
    return db.session.scalar(
        select(func.min(ApplicationTransition.occurred_at)).where(
            ApplicationTransition.application_id == application.id, ApplicationTransition.action == "submit"
        )
    )


def filed_late(application: Application) -> bool:
    return is_late(application.quarter, filed_at(application))
