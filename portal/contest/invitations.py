"""Team invitations: a captain invites an address; the person with that address joins by accepting.

Listing an address gives it nothing. The invitee joins only by signing in as the account with that address
and accepting through the invitation's link, whose random token the captain passes on (the portal sends no
mail yet, so the link is what proves the captain meant this person, not merely whoever registered the
address). Until then the address neither sees the team nor recuses a judge. A judge of a contest never
joins one of its teams. These functions add and flush; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import exists, or_, select

from portal.accounts.models import User
from portal.contest.models import (
    ACCEPTED,
    DECLINED,
    PENDING,
    REVOKED,
    Assignment,
    Contest,
    Round,
    RoundJudge,
    Team,
    TeamMember,
)
from portal.extensions import db
from portal.refusals import Refusal

WRONG_ACCOUNT = _l("This invitation was sent to another address. Sign in with the account of that address.")
TOKEN_BYTES = 32  # token_urlsafe(32) gives 43 characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class InvitationError(Refusal):
    """An invitation could not be sent, answered or withdrawn; the message is shown."""


class NotYourInvitation(InvitationError):
    """The signed-in account is not the invited address."""


class NotPending(InvitationError):
    """The invitation was already answered or withdrawn."""


class JudgeCannotJoin(InvitationError):
    """The account judges the team's contest."""


def status_labels() -> dict[str, str]:
    """Return each invitation status's name in the current language."""
    return {
        PENDING: _l("Waiting for an answer"),
        ACCEPTED: _l("Accepted"),
        DECLINED: _l("Declined"),
        REVOKED: lazy_pgettext("invitation status", "Withdrawn"),
    }


def find(token: str) -> TeamMember | None:
    """Return the invitation with this token, or None for an unknown or malformed one."""
    if not _TOKEN.fullmatch(token):  # NUL and other bytes a database refuses never reach it
        return None
    return db.session.scalar(select(TeamMember).where(TeamMember.token == token))


def judges_contest(user: User, contest: Contest) -> bool:
    """Tell whether `user` sits on a panel of, or holds an assignment in, any round of `contest`."""
    rounds = select(Round.id).where(Round.contest_id == contest.id)
    on_panel = exists().where(RoundJudge.judge_id == user.id, RoundJudge.round_id.in_(rounds))
    assigned = exists().where(Assignment.judge_id == user.id, Assignment.round_id.in_(rounds))
    return bool(db.session.scalar(select(or_(on_panel, assigned))))


def check_not_judge(user: User, contest: Contest) -> None:
    if judges_contest(user, contest):
        raise JudgeCannotJoin(
            _l("%(address)s judges this contest and cannot join its teams.", address=user.email)
        )


def set_invited(team: Team, emails: list[str], *, now: datetime) -> None:
    """Make `emails` the team's invited addresses (pending or accepted), in place of the earlier list.

    A new address gets a pending invitation with a fresh token; an address no longer listed is revoked,
    its member (if they had accepted) leaving the team; a declined or revoked address listed again is
    invited afresh. Raise JudgeCannotJoin when a newly invited address belongs to a judge of the contest.
    """
    current = {m.email: m for m in team.members}
    fresh = [e for e in emails if e not in current or current[e].status not in (PENDING, ACCEPTED)]
    for email in fresh:  # check them all before changing anything
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            check_not_judge(user, team.contest)
    for email in fresh:
        member = current.get(email)
        if member is None:
            member = TeamMember(email=email)
            team.members.append(member)
        member.status, member.user_id, member.answered_at = PENDING, None, None
        member.token, member.invited_at = secrets.token_urlsafe(TOKEN_BYTES), now
    for email, member in current.items():
        if email not in emails and member.status in (PENDING, ACCEPTED):
            member.status, member.answered_at = REVOKED, now


def accept(invitation: TeamMember, *, by: User, now: datetime) -> None:
    """Join the team: only the signed-in account with the invited address, once, and never a judge."""
    _check_invitee(invitation, by)
    check_not_judge(by, invitation.team.contest)
    if by.id == invitation.team.captain_id:
        raise InvitationError(_l("You are this team's captain already."))
    invitation.status, invitation.user_id, invitation.answered_at = ACCEPTED, by.id, now
    db.session.flush()


def decline(invitation: TeamMember, *, by: User, now: datetime) -> None:
    """Refuse a pending invitation; the captain may invite the address again later."""
    _check_invitee(invitation, by)
    invitation.status, invitation.answered_at = DECLINED, now
    db.session.flush()


def revoke(invitation: TeamMember, *, by: User, now: datetime) -> None:
    """The captain withdraws a pending invitation, or removes a member who accepted."""
    if by.id != invitation.team.captain_id:
        raise InvitationError(_l("Only the team's captain withdraws its invitations."))
    if invitation.status not in (PENDING, ACCEPTED):
        raise NotPending(_l("This invitation was already declined or withdrawn."))
    invitation.status, invitation.answered_at = REVOKED, now
    db.session.flush()


def _check_invitee(invitation: TeamMember, by: User) -> None:
    if not by.is_authenticated or by.email.lower() != invitation.email:
        raise NotYourInvitation(WRONG_ACCOUNT)
    if invitation.status != PENDING:
        raise NotPending(_l("This invitation was already answered or withdrawn."))
