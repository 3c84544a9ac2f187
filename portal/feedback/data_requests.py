"""Data requests (数据需求): users ask for data not yet open; others vote (once each) and comment; the data
office answers planned, published (linked to the published dataset; the requester and voters are told) or
declined with a reason.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.catalogue.models import Dataset, Department
from portal.extensions import db
from portal.feedback.models import (
    DECLINED,
    OPEN,
    PLANNED,
    PUBLISHED,
    DataRequest,
    DataRequestComment,
    DataRequestVote,
)
from portal.refusals import Refusal

TITLE_MAX, TEXT_MAX = 200, 2000
ANSWERS = (PLANNED, PUBLISHED, DECLINED)


class RequestError(Refusal):
    """A request, vote, comment or answer the rules refuse; nothing was changed."""


def _text(value: str, limit: int, field: str, missing) -> str:
    value = (value or "").strip()
    if not value:
        raise RequestError(missing, fields={field: missing})
    if len(value) > limit:
        message = _l("At most %(count)d characters.", count=limit)
        raise RequestError(message, fields={field: message})
    return value


def ask(*, by: User, title: str, reason: str, department: Department | None, now: datetime) -> DataRequest:
    """Add a request, with the requester's own vote; flush and return it."""
    request = DataRequest(
        title=_text(title, TITLE_MAX, "title", _l("Say what data you need.")),
        reason=_text(reason, TEXT_MAX, "reason", _l("Say why you need it.")),
        department_id=department.id if department else None,
        requester_id=by.id,
        status=OPEN,
        answer="",
        votes=0,
        created_at=now,
    )
    db.session.add(request)
    db.session.flush()
    vote(request, by=by, now=now)
    return request


def has_voted(request: DataRequest, user: User) -> bool:
    return db.session.get(DataRequestVote, (request.id, user.id)) is not None


def vote(request: DataRequest, *, by: User, now: datetime) -> DataRequest:
    """Count one vote of `by`; a second is refused."""
    if has_voted(request, by):
        raise RequestError(_l("You have already voted for this request."))
    try:
        with db.session.begin_nested():  # the same user's vote sent twice at once: one is first
            db.session.add(DataRequestVote(request_id=request.id, user_id=by.id, created_at=now))
    except IntegrityError:
        raise RequestError(_l("You have already voted for this request.")) from None
    request.votes = DataRequest.votes + 1  # in SQL: concurrent votes do not overwrite each other
    db.session.flush()
    db.session.refresh(request, ["votes"])
    return request


def comment(request: DataRequest, *, by: User, text: str, now: datetime) -> DataRequestComment:
    added = DataRequestComment(
        request_id=request.id,
        user_id=by.id,
        text=_text(text, TEXT_MAX, "text", _l("Write a comment.")),
        created_at=now,
    )
    db.session.add(added)
    db.session.flush()
    return added


def answer(
    request: DataRequest, *, by: User, status: str, text: str, now: datetime, dataset: Dataset | None = None
) -> DataRequest:
    """Answer: planned, published (with the published dataset) or declined (with a reason); flush."""
    if status not in ANSWERS:
        raise RequestError(_l("Choose an answer."))
    if request.status in (PUBLISHED, DECLINED):
        raise RequestError(_l("This request is already answered."))
    text = (text or "").strip()
    if status == DECLINED and not text:
        raise RequestError(
            _l("Give the reason for declining."), fields={"text": _l("Give the reason for declining.")}
        )
    if len(text) > TEXT_MAX:
        raise RequestError(_l("The answer is too long."))
    if status == PUBLISHED and (dataset is None or not dataset.is_published):
        raise RequestError(_l("Name the published dataset that answers the request."))
    request.status, request.answer, request.answered_at, request.answered_by_id = status, text, now, by.id
    request.dataset_id = dataset.id if status == PUBLISHED else None
    db.session.flush()
    return request


def people_to_tell(request: DataRequest) -> list[User]:
    """The requester and every voter, once each."""
    voters = select(DataRequestVote.user_id).where(DataRequestVote.request_id == request.id)
    return list(
        db.session.scalars(select(User).where((User.id == request.requester_id) | User.id.in_(voters)))
    )


def listing(status: str | None = None):
    """Requests, most votes first, then newest."""
    query = select(DataRequest).order_by(
        DataRequest.votes.desc(), DataRequest.created_at.desc(), DataRequest.id.desc()
    )
    return query.where(DataRequest.status == status) if status else query
