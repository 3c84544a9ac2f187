"""Setting a contest up: the contest, its tracks, its rounds with their rules, and each round's rubric.

These functions add and flush; the caller commits. They raise SetupError with a message for the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from portal.accounts.models import User
from portal.contest import windows
from portal.contest.models import (
    MEAN,
    TRIMMED_MEAN,
    Assignment,
    Contest,
    Criterion,
    Round,
    Score,
    Team,
    Track,
)
from portal.extensions import db
from portal.refusals import Refusal

WEIGHT_TOTAL = 100


class SetupError(Refusal):
    """A set-up rule was broken; the message is shown to the admin."""


@dataclass(frozen=True)
class RoundRules:
    name: str
    submission_opens_at: datetime
    submission_closes_at: datetime
    judging_opens_at: datetime
    judging_closes_at: datetime
    judges_per_entry: int = 3
    advance_count: int | None = None
    advance_cutoff: Decimal | None = None
    aggregation: str = MEAN
    normalise: bool = False
    blind: bool = False
    notice_days: int = 7


@dataclass(frozen=True)
class CriterionSpec:
    name: str
    weight: int
    max_score: int
    description: str = ""
    tiebreak_order: int | None = None


def create_contest(
    *, year: int, name: str, description: str = "", rules: str = "", by: User | None
) -> Contest:
    """Create a contest; raise SetupError when the year already has one of that name."""
    contest = Contest(created_by_id=by.id if by else None)
    update_contest(contest, year=year, name=name, description=description, rules=rules)
    db.session.add(contest)
    db.session.flush()
    return contest


def update_contest(contest: Contest, *, year: int, name: str, description: str, rules: str) -> None:
    name = name.strip()
    taken = select(Contest.id).where(Contest.year == year, Contest.name == name, Contest.id != contest.id)
    if db.session.scalar(taken) is not None:
        raise SetupError(_l("The year %(year)d already has a contest of this name.", year=year))
    contest.year, contest.name = year, name
    contest.description, contest.rules = description.strip(), rules.strip()


def publish_contest(contest: Contest, *, by: User, now: datetime) -> None:
    """Make a draft contest public: its page, the API and team sign-up; it needs a track and a round."""
    if not contest.is_draft:
        raise SetupError(_l("The contest is already public."))
    if not contest.tracks or not contest.rounds:
        raise SetupError(_l("Add at least one track and one round before publishing the contest."))
    contest.published_at, contest.published_by_id = now, by.id
    db.session.flush()


def unpublish_contest(contest: Contest) -> None:
    """Take a public contest back to draft, as long as no team has formed for it."""
    if contest.is_draft:
        raise SetupError(_l("The contest is a draft already."))
    if db.session.scalar(select(exists().where(Team.contest_id == contest.id))):
        raise SetupError(_l("Teams have formed for this contest; it stays public."))
    contest.published_at = contest.published_by_id = None
    db.session.flush()


def add_track(contest: Contest, *, name: str, description: str = "") -> Track:
    """Add a track (赛道) at the end of the contest's list."""
    name = name.strip()
    if any(t.name == name for t in contest.tracks):
        raise SetupError(_l("The contest already has a track of this name."))
    track = Track(name=name, description=description.strip(), position=len(contest.tracks))
    contest.tracks.append(track)
    db.session.flush()
    return track


def save_round(contest: Contest, rules: RoundRules, round_: Round | None = None) -> Round:
    """Create a round at the end of the contest, or change `round_`; published rounds cannot change."""
    if round_ is not None and round_.is_published:
        raise SetupError(_l("The round's results are published; its rules can no longer change."))
    _check_round_rules(contest, rules, round_)
    if round_ is None:
        round_ = Round(position=len(contest.rounds))
        contest.rounds.append(round_)
    for name, value in vars(rules).items():
        setattr(round_, name, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    return round_


def rubric_problem(specs: list[CriterionSpec]) -> str | None:
    """Return what is wrong with a rubric, or None: weights add up to 100, maxima positive, names unique."""
    if not specs:
        return _l("The rubric needs at least one criterion.")
    names = [s.name.strip() for s in specs]
    if len(set(names)) != len(names) or not all(names):
        return _l("Each criterion needs a name of its own.")
    if any(s.weight < 1 for s in specs) or any(s.max_score < 1 for s in specs):
        return _l("Each criterion needs a weight and a maximum score of at least 1.")
    total = sum(s.weight for s in specs)
    if total != WEIGHT_TOTAL:
        return _l("The weights add up to %(total)d; they must add up to 100.", total=total)
    orders = [s.tiebreak_order for s in specs if s.tiebreak_order is not None]
    if len(set(orders)) != len(orders) or any(o < 1 for o in orders):
        return _l("Tie-break positions must be different whole numbers from 1.")
    return None


def set_rubric(round_: Round, specs: list[CriterionSpec]) -> list[Criterion]:
    """Replace the round's rubric; refused once any judge has scored in the round."""
    problem = rubric_problem(specs)
    if problem:
        raise SetupError(problem)
    scored = exists().where(Score.assignment_id == Assignment.id, Assignment.round_id == round_.id)
    if db.session.scalar(select(scored)):
        raise SetupError(_l("Judges have started scoring; the rubric can no longer change."))
    round_.criteria.clear()
    db.session.flush()
    for position, spec in enumerate(specs):
        round_.criteria.append(
            Criterion(
                name=spec.name.strip(),
                description=spec.description.strip(),
                weight=spec.weight,
                max_score=spec.max_score,
                position=position,
                tiebreak_order=spec.tiebreak_order,
            )
        )
    db.session.flush()
    return list(round_.criteria)


def next_round_rules(contest: Contest) -> RoundRules | None:
    """Suggest the rules of a new round: the last round's, its windows moved to start a day after its
    judging (or notice period) ends, the name left for the office; None for a contest without rounds."""
    if not contest.rounds:
        return None
    last = contest.rounds[-1]
    shift = (last.notice_ends_at or last.judging_closes_at) + timedelta(days=1) - last.submission_opens_at
    moved = {name: getattr(last, name) + shift for name in WINDOWS}
    kept = {name: getattr(last, name) for name in KEPT_RULES}
    return RoundRules(name="", **moved, **kept)


WINDOWS = ("submission_opens_at", "submission_closes_at", "judging_opens_at", "judging_closes_at")
KEPT_RULES = ("judges_per_entry", "aggregation", "normalise", "blind", "notice_days")


def previous_round(round_: Round) -> Round | None:
    """Return the round before this one in its contest, whose advancing teams may enter this one."""
    earlier = [r for r in round_.contest.rounds if r.position < round_.position]
    return earlier[-1] if earlier else None


def contests(*, public: bool = False) -> list[Contest]:
    """Return the contests, newest first; with `public`, only those published (drafts are the office's)."""
    query = select(Contest).order_by(Contest.year.desc(), Contest.id.desc())
    return list(db.session.scalars(query.where(PUBLISHED) if public else query))


PUBLISHED = Contest.published_at.is_not(None)  # the SQL rule for a public contest, for every public list


def _check_round_rules(contest: Contest, rules: RoundRules, round_: Round | None) -> None:
    if not rules.name.strip():
        raise SetupError(_l("The round needs a name."))
    if any(r.name == rules.name.strip() and r is not round_ for r in contest.rounds):
        raise SetupError(_l("The contest already has a round of this name."))
    problem = windows.order_problem(
        rules.submission_opens_at, rules.submission_closes_at, rules.judging_opens_at, rules.judging_closes_at
    )
    if problem:
        raise SetupError(problem)
    if rules.aggregation not in (MEAN, TRIMMED_MEAN):
        raise SetupError(_l("Unknown aggregation."))
    if not 1 <= rules.judges_per_entry <= 20:
        raise SetupError(_l("Each entry needs between 1 and 20 judges."))
    if rules.advance_count is not None and rules.advance_cutoff is not None:
        raise SetupError(_l("Advance by number of entries or by a score cut-off, not both."))
    if rules.advance_count is not None and rules.advance_count < 1:
        raise SetupError(_l("At least one entry must advance."))
    if rules.advance_cutoff is not None and not 0 <= rules.advance_cutoff <= 100:
        raise SetupError(_l("The score cut-off lies between 0 and 100."))
    if not 0 <= rules.notice_days <= 60:
        raise SetupError(_l("The notice period lasts between 0 and 60 days."))
