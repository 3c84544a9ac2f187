"""Closing a round's submission or judging window now, instead of editing the window to the minute.

The window's end moves to `now`, so every rule that reads the windows (entries refused, scores locked) follows
at once; who closed it and when is kept on the round, beside who published and finalised it. A window that
is not open cannot be closed: not yet open, already closed (also by an earlier "close now") or, for judging,
results already published. These functions add and flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.contest import windows
from portal.contest.models import ACTIVE, ENTERED, SUBMITTED, Assignment, Entry, Round
from portal.extensions import db
from portal.refusals import Refusal

SUBMISSION, JUDGING = "submission", "judging"
WHATS = (SUBMISSION, JUDGING)


class ClosingError(Refusal):
    """The window cannot be closed now; the message says why."""


@dataclass(frozen=True)
class Consequences:
    """What closing a window now leaves behind, for the confirmation page."""

    what: str
    planned_end: datetime
    entries: int  # entries of the round (submission)
    sheets: int  # active score sheets (judging)
    unsubmitted: int  # of those, not yet submitted: they stay unsubmitted and locked


def problem(round_: Round, what: str, now: datetime) -> str | None:
    """Return why the `what` window cannot be closed at `now`, or None when it can."""
    if what == SUBMISSION:
        if now < round_.submission_opens_at:
            return _l("Submissions have not opened yet; change the window instead.")
        if windows.submission_closed(round_, now):
            return _l("Submissions are already closed.")
        return None
    if round_.is_published:
        return _l("The results are published; judging is over.")
    if now < round_.judging_opens_at:
        return _l("Judging has not opened yet; change the window instead.")
    if windows.judging_closed(round_, now):
        return _l("Judging is already closed.")
    return None


def consequences(round_: Round, what: str) -> Consequences:
    """Count what the closing affects: the entries in, or the sheets still unsubmitted."""
    entries = (
        select(func.count()).select_from(Entry).where(Entry.round_id == round_.id, Entry.status == ENTERED)
    )
    sheets = select(Assignment.status).where(Assignment.round_id == round_.id, Assignment.status.in_(ACTIVE))
    statuses = list(db.session.scalars(sheets))
    planned = round_.submission_closes_at if what == SUBMISSION else round_.judging_closes_at
    return Consequences(
        what=what,
        planned_end=planned,
        entries=db.session.scalar(entries) or 0,
        sheets=len(statuses),
        unsubmitted=sum(1 for s in statuses if s != SUBMITTED),
    )


def close(round_: Round, what: str, *, by: User, now: datetime) -> None:
    """Close the round's `what` window ("submission" or "judging") at `now`, recording who did."""
    if what not in WHATS:
        raise ValueError(f"unknown window {what!r}")
    reason = problem(round_, what, now)
    if reason is not None:
        raise ClosingError(reason)
    if what == SUBMISSION:
        round_.submission_closes_at = now
        round_.submission_closed_at, round_.submission_closed_by_id = now, by.id
    else:
        round_.judging_closes_at = now
        round_.judging_closed_at, round_.judging_closed_by_id = now, by.id
    db.session.flush()
