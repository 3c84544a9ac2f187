"""An application's statuses: draft → submitted → approved or returned (with a reason) → submitted again.

Each change is an UPDATE conditioned on the status the caller saw, so two clicks or two reviewers racing
change it once: the loser gets False (the change already happened) or InvalidTransition. Every change is
kept as an ApplicationTransition, and the county's team is notified of each review. Functions flush and
never commit.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal.accounts.models import User
from portal.applications import lateness, notifications, permissions
from portal.applications.models import (
    APPROVED,
    DRAFT,
    RETURNED,
    SUBMITTED,
    Application,
    ApplicationTransition,
)
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.refusals import Refusal

MAX_REASON = 2000


class WorkflowError(Refusal):
    """A rule of the workflow was broken; the message is shown to the user."""


class NotAllowed(WorkflowError):
    pass


class InvalidTransition(WorkflowError):
    pass


class FilingClosed(WorkflowError):
    """The quarter's filing period, grace included, is over."""


class Incomplete(WorkflowError):
    """Something an application needs before it is submitted is missing; `missing` says what."""

    def __init__(self, missing: list, fields: dict[str, object] | None = None) -> None:
        self.missing = missing
        self.fields = fields or {}  # the form field each missing thing belongs to
        super().__init__(_l("Before submitting, add %(what)s.", what=_Joined(missing)))


class _Joined:
    """Join lazily translated parts only when shown, in the reader's language."""

    def __init__(self, parts: list) -> None:
        self.parts = parts

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.parts)


def record(
    application: Application,
    action: str,
    from_status: str | None,
    to_status: str,
    *,
    by: User | None,
    reason: str = "",
    now: datetime,
) -> ApplicationTransition:
    """Add one step to the application's history."""
    step = ApplicationTransition(
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        actor_id=by.id if by else None,
        occurred_at=now,
    )
    application.transitions.append(step)
    db.session.flush()
    return step


def missing_fields(application: Application) -> dict[str, object]:
    """Return what the application lacks before it can be submitted, keyed by the form field it belongs to."""
    missing: dict[str, object] = {}
    if not application.description.strip():
        missing["description"] = _l("a description")
    if not application.datasets:
        missing["dataset_ids"] = _l("at least one catalogue dataset it uses")
    if not (application.web_url or application.mini_program or application.zlb_entry):
        missing["web_url"] = _l("a web address, a mini-program or a Zheliban entry")
    return missing


def missing_for_submission(application: Application) -> list[str]:
    """Return what the application lacks before it can be submitted, as messages."""
    return list(missing_fields(application).values())


def require_complete(application: Application) -> None:
    """Raise Incomplete, saying what is missing, unless the application can be submitted."""
    missing = missing_fields(application)
    if missing:
        raise Incomplete(list(missing.values()), incomplete_fields(application))


def incomplete_fields(application) -> dict[str, object]:
    """Return, per form field, what to add before submitting (an Application or any object of its fields)."""
    return {
        name: _l("Add %(what)s before submitting.", what=what)
        for name, what in missing_fields(application).items()
    }


def require_filing_open(application: Application, *, now: datetime, grace_days: int | None) -> None:
    """Raise FilingClosed if a first submission of `application` now falls past the grace period."""
    if application.status in (None, DRAFT) and lateness.is_past_grace(application.quarter, now, grace_days):
        raise FilingClosed(
            _l(
                "Filing for %(quarter)s closed %(days)d days after the quarter ended.",
                quarter=application.quarter,
                days=grace_days,
            )
        )


def submit(
    application: Application, *, by: User, now: datetime | None = None, grace_days: int | None = None
) -> bool:
    """Submit a draft or returned application for review; return False if it was already submitted.

    A first submission after the quarter's end is filed late (see lateness); more than `grace_days` days
    after it, it is refused. A returned application may always be resubmitted.
    """
    now = now or utcnow()
    if not permissions.can_follow_application(by, application) or by.is_admin:
        raise NotAllowed(_l("Only the county's team submits its applications."))
    if application.status == SUBMITTED:
        return False
    if not application.is_editable:
        raise InvalidTransition(_l("This application is already reviewed."))
    require_complete(application)
    require_filing_open(application, now=now, grace_days=grace_days)
    before = _move(application, SUBMITTED, now=now, submitted_at=now)
    if before is None:
        return False
    record(application, "resubmit" if before == RETURNED else "submit", before, SUBMITTED, by=by, now=now)
    notifications.notify_office(application, now=now)
    return True


def approve(application: Application, *, by: User, now: datetime | None = None) -> bool:
    """Approve a submitted application; return False if it was already approved."""
    now = now or utcnow()
    if not _reviewable(application, by, APPROVED):
        return False
    if _move(application, APPROVED, now=now, approved_at=now) is None:
        return False
    record(application, "approve", SUBMITTED, APPROVED, by=by, now=now)
    notifications.notify_team(application, notifications.APPROVED, now=now)
    return True


def send_back(application: Application, *, by: User, reason: str, now: datetime | None = None) -> bool:
    """Return a submitted application to its team with a reason; False if it was already returned."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_l("Say why the application is returned, so the team can fix it."))
    if len(reason) > MAX_REASON:
        raise WorkflowError(_l("Keep the reason under %(n)d characters.", n=MAX_REASON))
    if not _reviewable(application, by, RETURNED):
        return False
    if _move(application, RETURNED, now=now) is None:
        return False
    record(application, "return", SUBMITTED, RETURNED, by=by, reason=reason, now=now)
    notifications.notify_team(application, notifications.RETURNED, reason=reason, now=now)
    return True


def mark_exemplary(application: Application, *, by: User, now: datetime | None = None) -> bool:
    """Mark an approved application as exemplary (示范成果); False if it already was."""
    return _set_exemplary(application, True, by=by, now=now or utcnow())


def unmark_exemplary(application: Application, *, by: User, now: datetime | None = None) -> bool:
    """Take the exemplary mark off; False if it was not marked."""
    return _set_exemplary(application, False, by=by, now=now or utcnow())


def _reviewable(application: Application, by: User, target: str) -> bool:
    """Raise unless an admin may move the application to `target`; False when it is there already."""
    if not by.is_authenticated or not by.is_admin:
        raise NotAllowed(_l("Only the city data office reviews applications."))
    if application.status == target:
        return False
    if application.status != SUBMITTED:
        raise InvalidTransition(_l("Only a submitted application can be reviewed."))
    return True


def _set_exemplary(application: Application, value: bool, *, by: User, now: datetime) -> bool:
    if not permissions.can_mark_application(by, application):
        if by.is_authenticated and by.is_admin:
            raise InvalidTransition(_l("Only an approved application can be exemplary."))
        raise NotAllowed(_l("Only the city data office marks exemplary applications."))
    if application.is_exemplary == value:
        return False
    result = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.status == APPROVED,
            Application.is_exemplary == (not value),
        )
        .values(is_exemplary=value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(application)
    if result.rowcount != 1:
        return False
    action = "mark_exemplary" if value else "unmark_exemplary"
    record(application, action, APPROVED, APPROVED, by=by, now=now)
    kind = notifications.MARKED if value else notifications.UNMARKED
    notifications.notify_team(application, kind, now=now)
    return True


def _move(application: Application, to_status: str, *, now: datetime, **values) -> str | None:
    """Change the status if it is still the one loaded; return the status left, or None if it changed."""
    before = application.status
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == before)
        .values(status=to_status, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(application)
    return before if result.rowcount == 1 else None
