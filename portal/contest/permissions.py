"""Who may do what in the contest: `can_<verb>_<noun>(user, obj)` predicates.

Views call these and `abort(403)`; templates call them to hide buttons. Windows and deadlines are not here:
they are business rules, checked (with a message) by the domain functions.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from portal.accounts.models import ADMIN, JUDGE, User
from portal.contest.models import ACTIVE, Assignment, Contest, Entry, EntryFile, Round, Team, TeamMember
from portal.extensions import db


def can_manage_contest(user: User) -> bool:
    return user.is_authenticated and user.role == ADMIN


def can_view_contest(user: User, contest: Contest) -> bool:
    """A draft contest is the office's alone; a published one is everyone's."""
    return can_manage_contest(user) or not contest.is_draft


def can_form_team(user: User) -> bool:
    return user.is_authenticated


def is_team_member(user: User, team: Team) -> bool:
    """The captain, or a user who accepted the team's invitation (an invited address alone is not)."""
    return user.is_authenticated and (team.captain_id == user.id or user.id in team.member_ids)


def can_view_team(user: User, team: Team) -> bool:
    return can_manage_contest(user) or is_team_member(user, team)


def can_edit_team(user: User, team: Team) -> bool:
    return user.is_authenticated and team.captain_id == user.id


def can_answer_invitation(user: User, invitation: TeamMember) -> bool:
    """Only the signed-in account with the invited address accepts or declines (the token aside)."""
    return user.is_authenticated and user.email.lower() == invitation.email


def can_revoke_invitation(user: User, invitation: TeamMember) -> bool:
    return can_edit_team(user, invitation.team)


def can_edit_entry(user: User, team: Team) -> bool:
    """Only the captain submits and edits the team's entries (while the window is open)."""
    return can_edit_team(user, team)


def is_assigned(user: User, entry: Entry) -> bool:
    """Tell whether `user` is a judge with an active assignment on `entry`."""
    if not user.is_authenticated or user.role != JUDGE:
        return False
    query = exists().where(
        Assignment.entry_id == entry.id, Assignment.judge_id == user.id, Assignment.status.in_(ACTIVE)
    )
    return bool(db.session.scalar(select(query)))


def can_view_entry(user: User, entry: Entry) -> bool:
    """Admins, the team, and judges assigned to the entry; nobody else sees its material."""
    return can_manage_contest(user) or is_team_member(user, entry.team) or is_assigned(user, entry)


def can_download_file(user: User, entry_file: EntryFile) -> bool:
    return can_view_entry(user, entry_file.entry)


def can_score_assignment(user: User, assignment: Assignment) -> bool:
    """A judge scores only their own active assignments; never another judge's."""
    return (
        user.is_authenticated
        and user.role == JUDGE
        and assignment.judge_id == user.id
        and assignment.is_active
    )


def can_declare_conflict(user: User, assignment: Assignment) -> bool:
    return can_score_assignment(user, assignment)


def can_flag_entry(user: User, assignment: Assignment) -> bool:
    """In a blind round, a judge flags an assigned entry whose material reveals its team."""
    return can_score_assignment(user, assignment) and assignment.round.blind


def can_see_identity(user: User, round_: Round) -> bool:
    """Judges of a blind round see neither team nor county until the results are published."""
    return not (round_.blind and not round_.is_published and user.is_authenticated and user.role == JUDGE)


def can_view_results(user: User, round_: Round) -> bool:
    """The office sees results as they form; everyone else only once they are published."""
    return can_manage_contest(user) or (round_.is_published and not round_.contest.is_draft)


def can_view_entry_result(user: User, entry: Entry) -> bool:
    """A team sees its rank and scores once the round is published; admins always."""
    return can_manage_contest(user) or (entry.round.is_published and is_team_member(user, entry.team))


def can_file_appeal(user: User, entry: Entry) -> bool:
    return entry.round.is_published and can_edit_team(user, entry.team)
