"""Judge panels and assignments: who judges a round's track, who scores which entry, conflicts (回避).

A judge's county comes from their `JudgeProfile`, set by `set_county` alone (not per round); an entry's
from its team. The plan itself is
`assignment.plan` (pure); this module feeds it from the database and records what it decides. These
functions add and flush; the caller commits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts import mailing
from portal.accounts.models import JUDGE, User
from portal.contest import assignment, windows
from portal.contest.models import (
    ACTIVE,
    ASSIGNED,
    CONFLICT,
    ENTERED,
    MANUAL,
    OPEN,
    REMOVED,
    RESOLVED,
    Assignment,
    Conflict,
    Entry,
    JudgeProfile,
    Round,
    RoundJudge,
    Team,
    Track,
)
from portal.extensions import db
from portal.refusals import Refusal
from portal.regions.models import Region


class PanelError(Refusal):
    """A panel or assignment rule was broken; the message is shown."""


@dataclass
class AssignmentReport:
    created: int
    short: list[Entry]  # entries left with fewer than k judges: not enough eligible judges


def add_judge(round_: Round, track: Track, judge: User) -> RoundJudge:
    """Put a judge on the round's track panel; their county stays as `set_county` recorded it."""
    if judge.role != JUDGE:
        raise PanelError(_l("Only accounts with the judge role can judge."))
    if track.contest_id != round_.contest_id:
        raise PanelError(_l("The track belongs to another contest."))
    membership = db.session.scalar(
        select(RoundJudge).where(
            RoundJudge.round_id == round_.id, RoundJudge.track_id == track.id, RoundJudge.judge_id == judge.id
        )
    )
    if membership is None:
        membership = RoundJudge(round_id=round_.id, track=track, judge=judge)
        db.session.add(membership)
    db.session.flush()
    return membership


def set_county(judge: User, region: Region | None) -> JudgeProfile:
    """Record the judge's county (None: no county), the one place it is set, for every round.

    Refused while the judge holds an entry of that county in a round not yet published: they would
    have to recuse from it, so that assignment goes first.
    """
    if judge.role != JUDGE:
        raise PanelError(_l("Only accounts with the judge role can judge."))
    if region is not None and region.is_city:
        raise PanelError(_l("A judge's county is one of the counties, or none."))
    if region is not None:
        held = (
            select(Assignment.id)
            .join(Entry, Entry.id == Assignment.entry_id)
            .join(Team, Team.id == Entry.team_id)
            .join(Round, Round.id == Assignment.round_id)
            .where(
                Assignment.judge_id == judge.id,
                Assignment.status.in_(ACTIVE),
                Team.region_id == region.id,
                Round.published_at.is_(None),
            )
        )
        if db.session.scalar(held.limit(1)) is not None:
            raise PanelError(_l("The judge holds entries of that county; remove those assignments first."))
    profile = db.session.get(JudgeProfile, judge.id) or JudgeProfile(user_id=judge.id)
    profile.region = region
    db.session.add(profile)
    db.session.flush()
    return profile


def judges_with_counties() -> list[tuple[User, Region | None]]:
    """Return every active judge account with their county, by name."""
    query = (
        select(User, Region)
        .outerjoin(JudgeProfile, JudgeProfile.user_id == User.id)
        .outerjoin(Region, Region.id == JudgeProfile.region_id)
        .where(User.role == JUDGE, User.active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return [(user, region) for user, region in db.session.execute(query)]


def county_of(judge: User) -> Region | None:
    profile = db.session.get(JudgeProfile, judge.id)
    return profile.region if profile else None


def remove_judge(membership: RoundJudge) -> None:
    """Take a judge off a panel; refused while they hold assignments in that track."""
    held = (
        select(Assignment.id)
        .join(Entry)
        .where(
            Assignment.judge_id == membership.judge_id,
            Assignment.round_id == membership.round_id,
            Entry.track_id == membership.track_id,
            Assignment.status.in_(ACTIVE),
        )
    )
    if db.session.scalar(held.limit(1)) is not None:
        raise PanelError(_l("The judge still holds entries in this track; remove those assignments first."))
    db.session.delete(membership)
    db.session.flush()


def panel(round_: Round) -> list[RoundJudge]:
    query = (
        select(RoundJudge)
        .where(RoundJudge.round_id == round_.id)
        .options(joinedload(RoundJudge.judge), joinedload(RoundJudge.track))
        .order_by(RoundJudge.track_id, RoundJudge.judge_id)
    )
    return list(db.session.scalars(query))


def assign_round(round_: Round, *, by: User, now: datetime) -> AssignmentReport:
    """Bring every entry of the round up to k judges from its track's panel, balancing the loads.

    Runs once submissions have closed (entries are then fixed) and before results are published; running
    it again only fills gaps, such as those left by conflicts.
    """
    if not windows.submission_closed(round_, now):
        raise PanelError(_l("Assign judges once the submission window has closed."))
    if round_.is_published:
        raise PanelError(_l("The results are published; assignments can no longer change."))
    created, short, given = 0, [], Counter()
    for track in round_.contest.tracks:
        pairs, entries = _plan_track(round_, track)
        for entry_id, judge_id in pairs:
            _make(round_, entry_id, judge_id, by=by, now=now, source="auto")
            given[judge_id] += 1
        created += len(pairs)
        counts = _active_counts(round_)
        short += [e for e in entries if counts.get(e.id, 0) < round_.judges_per_entry]
    db.session.flush()
    for judge in db.session.scalars(select(User).where(User.id.in_(given))):
        _tell_judge(judge, round_, given[judge.id], now=now)
    return AssignmentReport(created, short)


def _tell_judge(judge: User, round_: Round, count: int, *, now: datetime) -> None:
    """Tell a judge in the site and by email that `count` entries of `round_` were given to them (the
    judging page lists them)."""
    context = {
        "contest": round_.contest.name,
        "round": round_.name,
        "count": count,
        "link": mailing.link("contest.judging.index"),
    }
    reason = f"{round_.contest.name} · {round_.name}"
    mailing.tell([judge], mailing.JUDGE_ASSIGNED, context, now=now, reason=reason)


def assign_manually(entry: Entry, judge: User, *, by: User, now: datetime) -> Assignment:
    """Admins' override: give `entry` to `judge`, who must be on the track's panel and of another county."""
    round_ = entry.round
    if round_.is_published:
        raise PanelError(_l("The results are published; assignments can no longer change."))
    on_panel = select(RoundJudge.id).where(
        RoundJudge.round_id == round_.id,
        RoundJudge.track_id == entry.track_id,
        RoundJudge.judge_id == judge.id,
    )
    if db.session.scalar(on_panel) is None:
        raise PanelError(_l("The judge is not on this track's panel."))
    if not assignment.is_eligible(_judge_slot(judge), _entry_slot(entry)) or _on_team(judge, entry):
        raise PanelError(_l("The judge belongs to the entry's county or team and must recuse."))
    existing = db.session.scalar(
        select(Assignment).where(Assignment.entry_id == entry.id, Assignment.judge_id == judge.id)
    )
    if existing is not None and existing.status == CONFLICT:
        raise PanelError(_l("The judge declared a conflict on this entry."))
    if existing is not None and existing.is_active:
        raise PanelError(_l("The judge already has this entry."))
    made = _make(round_, entry.id, judge.id, by=by, now=now, source=MANUAL, reuse=existing)
    db.session.flush()
    _tell_judge(judge, round_, 1, now=now)
    return made


def remove_assignment(assigned: Assignment) -> None:
    """Admins' override: take an entry off a judge; their saved scores stay in the audit trail."""
    if assigned.round.is_published:
        raise PanelError(_l("The results are published; assignments can no longer change."))
    if not assigned.is_active:
        raise PanelError(_l("This assignment is no longer active."))
    assigned.status = REMOVED
    db.session.flush()


def declare_conflict(assigned: Assignment, *, reason: str, by: User, now: datetime) -> Conflict:
    """A judge declares a conflict of interest: the entry leaves them and admins are asked to reassign it."""
    if assigned.judge_id != by.id or not assigned.is_active:
        raise PanelError(_l("You can declare a conflict only on an entry assigned to you."))
    if assigned.round.is_published:
        raise PanelError(_l("The results are published; assignments can no longer change."))
    if not reason.strip():
        raise PanelError(_l("Say briefly why you must recuse."))
    assigned.status = CONFLICT
    conflict = Conflict(assignment=assigned, reason=reason.strip(), declared_at=now)
    db.session.add(conflict)
    db.session.flush()
    return conflict


def resolve_conflict(conflict: Conflict, *, replace: bool, by: User, now: datetime) -> Assignment | None:
    """Close a conflict, first giving the entry to the least-loaded eligible judge when `replace`."""
    if conflict.status != OPEN:
        raise PanelError(_l("This conflict is already resolved."))
    replacement = None
    if replace:
        entry = conflict.assignment.entry
        if windows.judging_closed(entry.round, now):
            raise PanelError(_l("Judging has closed; a new judge could not score. Resolve without one."))
        pairs = [p for p in _plan_track(entry.round, entry.track)[0] if p[0] == entry.id]
        if not pairs:
            raise PanelError(_l("No other eligible judge is free for this entry; add one to the panel."))
        replacement = _make(entry.round, entry.id, pairs[0][1], by=by, now=now, source=MANUAL)
    conflict.status, conflict.resolved_at, conflict.resolved_by_id = RESOLVED, now, by.id
    db.session.flush()
    return replacement


def open_conflicts(round_: Round) -> list[Conflict]:
    query = (
        select(Conflict)
        .join(Assignment)
        .where(Assignment.round_id == round_.id, Conflict.status == OPEN)
        .order_by(Conflict.declared_at)
    )
    return list(db.session.scalars(query))


def assignments_by_entry(round_: Round) -> dict[int, list[Assignment]]:
    """Return every assignment of the round, whatever its status, by entry id."""
    query = (
        select(Assignment)
        .where(Assignment.round_id == round_.id)
        .options(joinedload(Assignment.judge))
        .order_by(Assignment.entry_id, Assignment.id)
    )
    grouped: dict[int, list[Assignment]] = {}
    for made in db.session.scalars(query):
        grouped.setdefault(made.entry_id, []).append(made)
    return grouped


def assignments_of(judge: User) -> list[Assignment]:
    """Return a judge's active assignments, newest round first."""
    query = (
        select(Assignment)
        .where(Assignment.judge_id == judge.id, Assignment.status.in_(ACTIVE))
        .options(joinedload(Assignment.entry), joinedload(Assignment.round))
        .order_by(Assignment.round_id.desc(), Assignment.entry_id)
    )
    return list(db.session.scalars(query))


def _plan_track(round_: Round, track: Track) -> tuple[list[assignment.Pair], list[Entry]]:
    entries = list(
        db.session.scalars(
            select(Entry).where(
                Entry.round_id == round_.id, Entry.track_id == track.id, Entry.status == ENTERED
            )
        )
    )
    judges = [m.judge for m in panel(round_) if m.track_id == track.id and m.judge.active]
    current = db.session.scalars(
        select(Assignment).where(
            Assignment.round_id == round_.id, Assignment.entry_id.in_([e.id for e in entries])
        )
    ).all()
    existing = [(a.entry_id, a.judge_id) for a in current if a.is_active]
    excluded = [(a.entry_id, a.judge_id) for a in current if not a.is_active]
    excluded += [(e.id, j.id) for e in entries for j in judges if _on_team(j, e)]
    pairs = assignment.plan(
        [_entry_slot(e) for e in entries],
        [_judge_slot(j) for j in judges],
        round_.judges_per_entry,
        existing=existing,
        excluded=excluded,
    )
    return pairs, entries


def _make(round_, entry_id, judge_id, *, by, now, source, reuse=None) -> Assignment:
    made = reuse or Assignment(round_id=round_.id, entry_id=entry_id, judge_id=judge_id)
    made.status, made.source, made.created_at, made.created_by_id = ASSIGNED, source, now, by.id
    made.submitted_at = None
    db.session.add(made)
    return made


def _active_counts(round_: Round) -> dict[int, int]:
    rows = db.session.execute(
        select(Assignment.entry_id).where(Assignment.round_id == round_.id, Assignment.status.in_(ACTIVE))
    ).scalars()
    counts: dict[int, int] = {}
    for entry_id in rows:
        counts[entry_id] = counts.get(entry_id, 0) + 1
    return counts


def _judge_slot(judge: User) -> assignment.Judge:
    region = county_of(judge)
    return assignment.Judge(judge.id, region.id if region else None)


def _entry_slot(entry: Entry) -> assignment.Entry:
    return assignment.Entry(entry.id, entry.team.region_id)


def _on_team(judge: User, entry: Entry) -> bool:
    return entry.team.captain_id == judge.id or judge.id in entry.team.member_ids  # accepted members only
