"""Teams: any signed-in user forms one for a contest, as its captain, and invites members by email.

Members join by accepting their invitation (`invitations.py`); a listed address alone gives nothing.

These functions add and flush; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select

from portal.accounts.models import User
from portal.contest import invitations
from portal.contest.models import ACCEPTED, Contest, Entry, Team, TeamMember
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.refusals import Refusal
from portal.regions.models import Region

MAX_MEMBERS = 10


class TeamError(Refusal):
    """A team rule was broken; the message is shown to the user."""


def parse_emails(text: str) -> list[str]:
    """Return the distinct, lower-cased addresses in `text` (one a line, or separated by commas)."""
    found: list[str] = []
    for raw in text.replace(",", "\n").replace("，", "\n").splitlines():
        address = raw.strip().lower()
        if not address:
            continue
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:
            raise TeamError(_l("%(address)s is not an email address.", address=address)) from exc
        if address not in found:
            found.append(address)
    return found


def form_team(
    contest: Contest,
    *,
    name: str,
    captain: User,
    member_emails: list[str],
    region: Region | None,
    now: datetime | None = None,
) -> Team:
    """Create a team with `captain` at its head and invite `member_emails`.

    Raise TeamError for a taken name, a bad county, or a captain or invitee who judges the contest.
    """
    if invitations.judges_contest(captain, contest):
        raise TeamError(_l("You judge this contest and cannot form a team in it."))
    team = Team(contest=contest, captain=captain, name="")
    _apply(team, name=name, member_emails=member_emails, region=region, now=now or utcnow())
    db.session.add(team)
    db.session.flush()
    return team


def update_team(
    team: Team,
    *,
    name: str,
    member_emails: list[str],
    region: Region | None,
    now: datetime | None = None,
) -> None:
    """Change the name, invited addresses and county; the county is fixed once the team has entered."""
    if region != team.region and db.session.scalar(select(exists().where(Entry.team_id == team.id))):
        raise TeamError(_l("The county cannot change once the team has submitted an entry."))
    _apply(team, name=name, member_emails=member_emails, region=region, now=now or utcnow())
    db.session.flush()


def teams_of(user: User) -> list[Team]:
    """Return the teams `user` captains or joined by accepting an invitation, newest first."""
    member = select(TeamMember.team_id).where(TeamMember.user_id == user.id, TeamMember.status == ACCEPTED)
    query = select(Team).where(or_(Team.captain_id == user.id, Team.id.in_(member))).order_by(Team.id.desc())
    return list(db.session.scalars(query))


def _apply(team: Team, *, name: str, member_emails: list[str], region: Region | None, now: datetime) -> None:
    name = name.strip()
    if not name:
        raise TeamError(_l("The team needs a name."))
    taken = select(Team.id).where(Team.contest_id == team.contest.id, Team.name == name)
    if team.id is not None:
        taken = taken.where(Team.id != team.id)
    if db.session.scalar(taken) is not None:
        raise TeamError(_l("Another team of this contest has this name."))
    if region is not None and region.is_city:
        raise TeamError(_l("A county team belongs to one county, not to the city."))
    emails = [e for e in member_emails if e != team.captain.email]
    if len(emails) > MAX_MEMBERS:
        raise TeamError(_l("A team has at most %(n)d members besides its captain.", n=MAX_MEMBERS))
    try:
        invitations.set_invited(team, emails, now=now)
    except invitations.InvitationError as exc:
        raise TeamError(*exc.args) from exc
    team.name, team.region = name, region
