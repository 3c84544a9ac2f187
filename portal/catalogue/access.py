"""Access requests for conditionally open (有条件开放) datasets: apply, decide, and look them up.

A developer states a purpose; the data office approves or rejects it with a reason. One request per user
and dataset may be pending at a time; after a rejection the developer may apply again. The office and the
dataset's data owners are told of a new request, and the developer of the decision. Functions add and
flush; the caller commits (but sending email commits too: the request with its notices).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, exists, select, update
from sqlalchemy.orm import selectinload

from portal.accounts import mailing
from portal.accounts.models import DEVELOPER, User
from portal.audit import log as audit_log
from portal.catalogue import owners
from portal.catalogue.models import APPROVED, CONDITIONAL, PENDING, REJECTED, AccessRequest, Dataset
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notices import inbox
from portal.refusals import Refusal

MIN_PURPOSE = 10
MAX_PURPOSE = 1000
MAX_REASON = 1000
STATUSES = (PENDING, APPROVED, REJECTED)
ACCESS_APPROVED, ACCESS_REJECTED = "access_approved", "access_rejected"  # notification kinds


class AccessError(Refusal):
    """An access request broke a rule; the message is shown to the user."""


class AlreadyPending(AccessError):
    """The user already waits for a decision on this dataset."""


class AlreadyDecided(AccessError):
    """Someone decided the request first."""


def has_approved_request(user: User, dataset: Dataset) -> bool:
    """Tell whether the user holds an approved request for the dataset."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AccessRequest.user_id == user.id,
                    AccessRequest.dataset_id == dataset.id,
                    AccessRequest.status == APPROVED,
                )
            )
        )
    )


def latest_request(user: User, dataset: Dataset) -> AccessRequest | None:
    """Return the user's most recent request for the dataset, or None."""
    return db.session.scalar(
        select(AccessRequest)
        .where(AccessRequest.user_id == user.id, AccessRequest.dataset_id == dataset.id)
        .order_by(AccessRequest.created_at.desc(), AccessRequest.id.desc())
        .limit(1)
    )


def request_access(user: User, dataset: Dataset, purpose: str) -> AccessRequest:
    """Record a developer's pending request for a conditional dataset.

    Raises AlreadyPending when one is pending (a double submit stores once) and AccessError when the
    dataset needs no request, the user is no developer, already has access, or the purpose is not
    MIN_PURPOSE to MAX_PURPOSE characters long.
    """
    purpose = (purpose or "").strip()
    if user.role != DEVELOPER:
        raise AccessError(_l("Only developer accounts apply for access to datasets."))
    if dataset.open_condition != CONDITIONAL or not dataset.is_published:
        raise AccessError(_l("This dataset needs no access request."))
    if not MIN_PURPOSE <= len(purpose) <= MAX_PURPOSE:
        raise AccessError(
            _l("Describe your purpose in %(min)d to %(max)d characters.", min=MIN_PURPOSE, max=MAX_PURPOSE)
        )
    # Lock the user's row so that two submits at once queue here (PostgreSQL; SQLite has one writer anyway).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    latest = latest_request(user, dataset)
    if latest is not None and latest.status == PENDING:
        raise AlreadyPending(_l("Your request for this dataset is already waiting for a decision."))
    if latest is not None and latest.status == APPROVED:
        raise AccessError(_l("You already have access to this dataset."))
    access_request = AccessRequest(user_id=user.id, dataset_id=dataset.id, purpose=purpose, status=PENDING)
    db.session.add(access_request)
    db.session.flush()
    _tell_deciders(access_request)
    return access_request


def _tell_deciders(access_request: AccessRequest) -> None:
    """Tell the office and the dataset's data owners, in the site and by email, that a request waits.

    Queueing the email commits the request with the notices.
    """
    context = {
        "dataset": access_request.dataset.title,
        "purpose": access_request.purpose,
        "link": mailing.link("access.review"),
    }
    deciders = owners.deciders(access_request.dataset.department_id, besides=access_request.user_id)
    mailing.tell(
        deciders,
        mailing.ACCESS_REQUESTED,
        context,
        now=access_request.created_at or utcnow(),
        access_request=access_request,
    )


def decide(access_request: AccessRequest, *, approve: bool, reason: str, by: User) -> None:
    """Approve or reject a pending request; a rejection needs a reason. `by` is the office or a data owner
    of the dataset's department (catalogue/permissions.py decides who may).

    The status changes only if the request is still pending, in one UPDATE, so two admins deciding at
    once cannot both win: the second gets AlreadyDecided. The developer is notified in the site.
    """
    reason = (reason or "").strip()
    if not approve and not reason:
        raise AccessError(_l("Give the reason for the rejection."))
    if len(reason) > MAX_REASON:
        raise AccessError(_l("The reason is longer than %(max)d characters.", max=MAX_REASON))
    changed = db.session.execute(
        update(AccessRequest)
        .where(AccessRequest.id == access_request.id, AccessRequest.status == PENDING)
        .values(
            status=APPROVED if approve else REJECTED,
            decision_reason=reason,
            decided_by_id=by.id,
            decided_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(access_request)
    if changed != 1:
        raise AlreadyDecided(_l("This request has already been decided."))
    audit_log.record(
        db.session,
        "access_request.decided",
        actor=by,
        object_type="access_request",
        object_id=access_request.id,
        before={"status": PENDING},
        after={"status": access_request.status, "reason": reason, "dataset_id": access_request.dataset_id},
    )
    _tell_requester(access_request)


def _tell_requester(access_request: AccessRequest) -> None:
    """Tell the developer the decision on their access request, with the office's reason."""
    kind = ACCESS_APPROVED if access_request.status == APPROVED else ACCESS_REJECTED
    inbox.deliver(
        [access_request.user_id],
        kind,
        now=access_request.decided_at,
        access_request=access_request,
        reason=access_request.decision_reason,
    )
    context = {
        "dataset": access_request.dataset.title,
        "approved": access_request.status == APPROVED,
        "reason": access_request.decision_reason,
        "link": mailing.link("access.my_requests"),
    }
    mailing.email([access_request.user], mailing.ACCESS_DECIDED, context)


def review_queue(status: str | None = None, *, dataset_ids: Select | None = None) -> Select:
    """Select requests for the data office: pending first, then newest; optionally of one status, or only
    those for `dataset_ids` (a select of ids: a data owner's datasets, catalogue/owners.py)."""
    query = (
        select(AccessRequest)
        .options(selectinload(AccessRequest.user), selectinload(AccessRequest.dataset))
        .order_by(
            case((AccessRequest.status == PENDING, 0), else_=1),
            AccessRequest.created_at.desc(),
            AccessRequest.id.desc(),
        )
    )
    if status in STATUSES:
        query = query.where(AccessRequest.status == status)
    if dataset_ids is not None:
        query = query.where(AccessRequest.dataset_id.in_(dataset_ids))
    return query


def requests_of(user: User) -> Select:
    """Select the user's requests, newest first."""
    return (
        select(AccessRequest)
        .where(AccessRequest.user_id == user.id)
        .options(selectinload(AccessRequest.dataset))
        .order_by(AccessRequest.created_at.desc(), AccessRequest.id.desc())
    )
