"""A round's results from its submitted score sheets; judging progress; publication and finalisation.

Results are computed from the stored raw scores each time (by `ranking.compute`), never stored, so the figures
always follow from the scores and the round's rules. Scores lock when judging closes and a round can be
published only after that, so published figures do not move; only a disqualification may change them, and
only until the round is final. These functions add and flush; the caller commits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts import mailing
from portal.accounts.models import User
from portal.contest import ranking, windows
from portal.contest.models import (
    ACTIVE,
    ENTERED,
    OPEN,
    SUBMITTED,
    Appeal,
    Assignment,
    Conflict,
    Criterion,
    Entry,
    IdentityFlag,
    Round,
    Team,
    Track,
)
from portal.extensions import db
from portal.refusals import Refusal


class PublicationError(Refusal):
    """The round cannot be published or finalised now; the message says why."""


@dataclass
class SheetRow:
    """One judge's submitted sheet on one entry, with its weighted and normalised score."""

    assignment: Assignment
    scores: dict[int, Decimal]  # criterion id → raw score
    total: float
    normalised: float


@dataclass
class Row:
    entry: Entry
    result: ranking.Result


@dataclass
class RoundResults:
    round: Round
    criteria: list[Criterion]
    tracks: list[tuple[Track, list[Row]]]
    disqualified: list[Entry]
    sheets: list[SheetRow]
    judges: list[tuple[User, ranking.JudgeStats]]

    def row_of(self, entry: Entry) -> Row | None:
        return next((row for _, rows in self.tracks for row in rows if row.entry.id == entry.id), None)


@dataclass
class JudgeProgress:
    judge: User
    assigned: int
    submitted: int
    started: int  # sheets with some scores saved but not submitted

    @property
    def is_finished(self) -> bool:
        return self.submitted == self.assigned


def compute(round_: Round) -> RoundResults:
    """Return the round's figures and ranks per track, best first, from its submitted sheets."""
    criteria = list(round_.criteria)
    entries = _entries(round_)
    contenders = [e for e in entries if e.status == ENTERED]
    competing = {e.id for e in contenders}
    assignments = [a for a in _submitted(round_) if a.entry_id in competing]
    sheets = [
        ranking.Sheet(a.entry_id, a.judge_id, {s.criterion_id: float(s.value) for s in a.scores})
        for a in assignments
    ]
    rubric = [ranking.Criterion(c.id, c.weight, c.max_score) for c in criteria]
    figures = ranking.compute(
        rubric,
        sheets,
        [ranking.Contender(e.id, e.track_id, e.submitted_at) for e in contenders],
        rules(round_),
    )
    by_id = {e.id: e for e in entries}
    rows_by_track: dict[int, list[Row]] = defaultdict(list)
    for result in figures:
        rows_by_track[result.group].append(Row(by_id[result.entry_id], result))
    totals = {(s.entry_id, s.judge_id): ranking.weighted_score(s.scores, rubric) for s in sheets}
    normalised = ranking.normalise(totals)
    judges = {a.judge_id: a.judge for a in assignments}
    return RoundResults(
        round=round_,
        criteria=criteria,
        tracks=[(t, rows_by_track[t.id]) for t in round_.contest.tracks if rows_by_track[t.id]],
        disqualified=[e for e in entries if e.status != ENTERED],
        sheets=[
            SheetRow(a, {s.criterion_id: s.value for s in a.scores}, totals[k], normalised[k])
            for a in assignments
            if (k := (a.entry_id, a.judge_id))
        ],
        judges=[(judges[s.judge_id], s) for s in ranking.judge_statistics(totals)],
    )


def rules(round_: Round) -> ranking.Rules:
    cutoff = round_.advance_cutoff
    return ranking.Rules(
        aggregation=round_.aggregation,
        normalise=round_.normalise,
        tiebreak=tuple(c.id for c in round_.tiebreak_criteria),
        advance_count=round_.advance_count,
        advance_cutoff=float(cutoff) if cutoff is not None else None,
    )


def has_advanced(team: Team, track: Track, round_: Round) -> bool:
    """Tell whether the team's entry in `track` advanced from the finalised `round_`."""
    if not round_.is_final:
        return False
    entry = next((e for e in _entries(round_) if e.team_id == team.id and e.track_id == track.id), None)
    if entry is None:
        return False
    row = compute(round_).row_of(entry)
    return row is not None and row.result.advances


def progress(round_: Round) -> list[JudgeProgress]:
    """Return each judge's assigned and submitted counts, unfinished judges first."""
    assignments = db.session.scalars(
        select(Assignment)
        .where(Assignment.round_id == round_.id, Assignment.status.in_(ACTIVE))
        .options(joinedload(Assignment.judge), selectinload(Assignment.scores))
    ).all()
    judges = {a.judge_id: a.judge for a in assignments}
    assigned = Counter(a.judge_id for a in assignments)
    submitted = Counter(a.judge_id for a in assignments if a.status == SUBMITTED)
    started = Counter(a.judge_id for a in assignments if a.status != SUBMITTED and a.scores)
    report = [JudgeProgress(judges[j], assigned[j], submitted[j], started[j]) for j in assigned]
    return sorted(report, key=lambda p: (p.is_finished, p.judge.display_name, p.judge.id))


def publish(round_: Round, *, by: User, now: datetime) -> None:
    """Publish the results once judging has closed and no conflict or identity flag is open."""
    if round_.is_published:
        raise PublicationError(_l("The results of this round are already published."))
    if not windows.judging_closed(round_, now):
        raise PublicationError(_l("Results can be published only after the judging window has closed."))
    if _has_open(round_, Conflict) or _has_open(round_, IdentityFlag):
        raise PublicationError(_l("Settle the open conflicts and identity flags before publishing."))
    round_.published_at, round_.published_by_id = now, by.id
    round_.notice_ends_at = windows.notice_end(now, round_.notice_days)
    db.session.flush()
    _tell_teams(round_, now=now)


def _tell_teams(round_: Round, *, now: datetime) -> None:
    """Tell the captains and accepted members of the teams with an entry in the round, in the site and by
    email: results are out."""
    member_ids = {m for entry in _entries(round_) for m in {entry.team.captain_id, *entry.team.member_ids}}
    members = db.session.scalars(select(User).where(User.id.in_(member_ids))) if member_ids else []
    context = {
        "contest": round_.contest.name,
        "round": round_.name,
        "link": mailing.link("contest.ranking", contest_id=round_.contest_id, round_id=round_.id),
    }
    reason = f"{round_.contest.name} · {round_.name}"
    mailing.tell(members, mailing.RESULTS_PUBLISHED, context, now=now, reason=reason)


def finalise(round_: Round, *, by: User, now: datetime) -> None:
    """Make the results final once the notice period is over and every appeal and flag is answered."""
    if not round_.is_published:
        raise PublicationError(_l("Publish the results before finalising the round."))
    if round_.is_final:
        raise PublicationError(_l("The round is already final."))
    if round_.notice_ends_at is not None and now < round_.notice_ends_at:
        raise PublicationError(_l("The public notice period has not ended yet."))
    if _has_open(round_, Appeal) or _has_open(round_, IdentityFlag):
        raise PublicationError(_l("Answer every appeal and identity flag before finalising."))
    round_.finalised_at, round_.finalised_by_id = now, by.id
    db.session.flush()


def _submitted(round_: Round) -> list[Assignment]:
    query = (
        select(Assignment)
        .where(Assignment.round_id == round_.id, Assignment.status == SUBMITTED)
        .options(selectinload(Assignment.scores), joinedload(Assignment.judge))
        .order_by(Assignment.entry_id, Assignment.judge_id)
    )
    return list(db.session.scalars(query))


def _entries(round_: Round) -> list[Entry]:
    query = (
        select(Entry)
        .where(Entry.round_id == round_.id)
        .options(joinedload(Entry.team).joinedload(Team.region), joinedload(Entry.track))
        .order_by(Entry.id)
    )
    return list(db.session.scalars(query).unique())


def _has_open(round_: Round, model) -> bool:
    if model is Conflict:
        condition = exists().where(
            Conflict.status == OPEN, Conflict.assignment_id == Assignment.id, Assignment.round_id == round_.id
        )
    else:
        condition = exists().where(
            model.status == OPEN, model.entry_id == Entry.id, Entry.round_id == round_.id
        )
    return bool(db.session.scalar(select(condition)))
