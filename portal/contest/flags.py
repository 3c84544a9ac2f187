"""Identity flags in blind rounds: a judge reports material that reveals its team; the office decides.

Upholding a flag disqualifies the entry: it leaves the ranking, and its scores count nowhere. These functions
add and flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.models import User
from portal.contest import permissions
from portal.contest.models import (
    DISMISSED,
    DISQUALIFIED,
    OPEN,
    UPHELD,
    Assignment,
    Entry,
    IdentityFlag,
    Round,
)
from portal.extensions import db
from portal.refusals import Refusal


class FlagError(Refusal):
    """A flag or its decision was refused; the message says why."""


def flag_entry(assigned: Assignment, *, reason: str, by: User, now: datetime) -> IdentityFlag:
    """Report that an assigned entry's material reveals its team, in a blind round before publication."""
    if not permissions.can_flag_entry(by, assigned):
        raise FlagError(_l("Only a judge of a blind round flags an entry assigned to them."))
    if assigned.round.is_published:
        raise FlagError(_l("The results are published."))
    existing = select(IdentityFlag.id).where(
        IdentityFlag.entry_id == assigned.entry_id, IdentityFlag.judge_id == by.id
    )
    if db.session.scalar(existing) is not None:
        raise FlagError(_l("You have already flagged this entry."))
    if not reason.strip():
        raise FlagError(_l("Say what in the material reveals the team."))
    flag = IdentityFlag(entry_id=assigned.entry_id, judge_id=by.id, reason=reason.strip(), flagged_at=now)
    db.session.add(flag)
    db.session.flush()
    return flag


def decide_flag(flag: IdentityFlag, *, disqualify: bool, reason: str, by: User, now: datetime) -> None:
    """Uphold the flag and disqualify the entry, or dismiss it; refused once the round is final."""
    if flag.status != OPEN:
        raise FlagError(_l("This flag has already been decided."))
    if flag.entry.round.is_final:
        raise FlagError(_l("The round is final."))
    if not reason.strip():
        raise FlagError(_l("Give the reason for the decision."))
    flag.status = UPHELD if disqualify else DISMISSED
    flag.decision_reason, flag.decided_by_id, flag.decided_at = reason.strip(), by.id, now
    if disqualify:
        flag.entry.status = DISQUALIFIED
        flag.entry.disqualified_reason = reason.strip()
    db.session.flush()


def flags_of(round_: Round) -> list[IdentityFlag]:
    query = (
        select(IdentityFlag)
        .join(Entry)
        .where(Entry.round_id == round_.id)
        .options(joinedload(IdentityFlag.entry), joinedload(IdentityFlag.judge))
        .order_by(IdentityFlag.flagged_at)
    )
    return list(db.session.scalars(query))
