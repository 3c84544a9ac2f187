"""Appeals (申诉) in the public notice period (公示), and the office's answers.

These functions add and flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.models import User
from portal.contest import permissions, windows
from portal.contest.models import DISMISSED, OPEN, UPHELD, Appeal, Entry, Round
from portal.extensions import db
from portal.refusals import Refusal


class AppealError(Refusal):
    """An appeal or its answer was refused; the message says why."""


def file_appeal(entry: Entry, *, reason: str, by: User, now: datetime) -> Appeal:
    """File the team's one appeal against its published result while the notice period runs."""
    if not permissions.can_file_appeal(by, entry):
        raise AppealError(_l("Only the team's captain can appeal, once the results are published."))
    if not windows.notice_open(entry.round, now):
        raise AppealError(_l("Appeals are accepted only during the public notice period."))
    if db.session.scalar(select(Appeal.id).where(Appeal.entry_id == entry.id)) is not None:
        raise AppealError(_l("The team has already appealed this result."))
    if not reason.strip():
        raise AppealError(_l("Give the reason for the appeal."))
    appeal = Appeal(entry=entry, reason=reason.strip(), filed_by_id=by.id, filed_at=now)
    db.session.add(appeal)
    db.session.flush()
    return appeal


def answer_appeal(appeal: Appeal, *, upheld: bool, reason: str, by: User, now: datetime) -> None:
    """Record the office's decision on an appeal, with its reason; a round that is final takes none."""
    if appeal.status != OPEN:
        raise AppealError(_l("This appeal has already been answered."))
    if appeal.entry.round.is_final:
        raise AppealError(_l("The round is final."))
    if not reason.strip():
        raise AppealError(_l("Give the reason for the decision."))
    appeal.status = UPHELD if upheld else DISMISSED
    appeal.answer, appeal.answered_by_id, appeal.answered_at = reason.strip(), by.id, now
    db.session.flush()


def appeals_of(round_: Round) -> list[Appeal]:
    query = (
        select(Appeal)
        .join(Entry)
        .where(Entry.round_id == round_.id)
        .options(joinedload(Appeal.entry).joinedload(Entry.team))
        .order_by(Appeal.filed_at)
    )
    return list(db.session.scalars(query))


def appeal_of(entry: Entry) -> Appeal | None:
    return db.session.scalar(select(Appeal).where(Appeal.entry_id == entry.id))
