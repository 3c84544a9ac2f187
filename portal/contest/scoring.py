"""Judges' scores: save and come back, submit, locked when the judging window closes; every change audited.

Sending the same scores twice stores them once: one row per (assignment, criterion), written with an upsert
under a lock on the assignment, an audit line only when a value or comment really changes, and a conditional
status change (assigned → submitted) that a second submit leaves alone. These functions add and flush; the
caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.accounts.models import User
from portal.contest import windows
from portal.contest.models import ASSIGNED, SUBMITTED, Assignment, Criterion, Score, ScoreChange
from portal.extensions import db
from portal.refusals import Refusal

STEP = Decimal("0.5")  # half points allowed
OVERALL_COMMENT_MAX = 4000
PLACES = Decimal("0.1")


class ScoringError(Refusal):
    """A score was refused; the message is shown to the judge."""


@dataclass(frozen=True)
class Mark:
    value: Decimal | None  # None: left blank, nothing saved for the criterion
    comment: str = ""


def score_problem(value: Decimal, criterion: Criterion) -> str | None:
    """Return why `value` is not a valid score on `criterion`, or None."""
    if not value.is_finite():
        return _l("The score for %(name)s is not a number.", name=criterion.name)
    if value < 0:
        return _l("The score for %(name)s cannot be negative.", name=criterion.name)
    if value > criterion.max_score:
        return _l(
            "The score for %(name)s is above its maximum of %(max)d.",
            name=criterion.name,
            max=criterion.max_score,
        )
    if value % STEP != 0:
        return _l("The score for %(name)s must be a whole or half point.", name=criterion.name)
    return None


def save_scores(
    assigned: Assignment,
    marks: Mapping[int, Mark],
    *,
    by: User,
    now: datetime,
    submit: bool = False,
    overall_comment: str | None = None,
) -> int:
    """Save the judge's marks (blank ones are skipped), the overall comment when given, and, with `submit`,
    submit the sheet.

    Return how many scores changed. Raise ScoringError when the judge is not the assignee, the window is
    closed, a value is invalid, or a submitted sheet lacks a criterion; nothing is written then.
    """
    criteria = _check(assigned, marks, by=by, now=now)
    # Serialise concurrent saves of one sheet (PostgreSQL; SQLite has a single writer anyway).
    db.session.execute(select(Assignment.id).where(Assignment.id == assigned.id).with_for_update())
    current = {s.criterion_id: s for s in _scores(assigned)}
    given = {cid: m for cid, m in marks.items() if m.value is not None}
    missing = [c.name for c in criteria if c.id not in current and c.id not in given]
    if submit and missing:
        raise ScoringError(
            _l("Score every criterion before submitting; missing: %(names)s.", names="、".join(missing))
        )
    changed = 0
    for criterion_id, mark in given.items():
        changed += _record(assigned, criterion_id, mark, current.get(criterion_id), by=by, now=now)
    if overall_comment is not None and overall_comment.strip() != assigned.overall_comment:
        db.session.execute(
            update(Assignment)
            .where(Assignment.id == assigned.id)
            .values(overall_comment=overall_comment.strip()[:OVERALL_COMMENT_MAX])
        )
    if submit:
        db.session.execute(
            update(Assignment)
            .where(Assignment.id == assigned.id, Assignment.status == ASSIGNED)
            .values(status=SUBMITTED, submitted_at=now)
        )
    db.session.flush()
    db.session.expire(assigned)
    return changed


def _check(assigned: Assignment, marks: Mapping[int, Mark], *, by: User, now: datetime) -> list[Criterion]:
    if assigned.judge_id != by.id or not assigned.is_active:
        raise ScoringError(_l("You can score only entries assigned to you."))
    round_ = assigned.round
    if not windows.judging_open(round_, now):
        raise ScoringError(
            _l("The judging window of %(round)s is closed; scores are locked.", round=round_.name)
        )
    criteria = {c.id: c for c in round_.criteria}
    for criterion_id, mark in marks.items():
        if criterion_id not in criteria:
            raise ScoringError(_l("The rubric has changed; reload the page."))
        problem = score_problem(mark.value, criteria[criterion_id]) if mark.value is not None else None
        if problem:
            raise ScoringError(problem)
    return list(criteria.values())


def _record(assigned: Assignment, criterion_id: int, mark: Mark, old: Score | None, *, by: User, now) -> int:
    """Write one score and its audit line when it differs from `old`; return 1 if it did, else 0."""
    assert mark.value is not None
    value, comment = mark.value.quantize(PLACES), mark.comment.strip()
    if old is not None and old.value == value and old.comment == comment:
        return 0
    _upsert(assigned.id, criterion_id, value, comment, now)
    db.session.add(
        ScoreChange(
            assignment_id=assigned.id,
            criterion_id=criterion_id,
            changed_by_id=by.id,
            changed_at=now,
            old_value=old.value if old else None,
            new_value=value,
            old_comment=old.comment if old else "",
            new_comment=comment,
        )
    )
    return 1


def running_total(criteria: list[Criterion], values: Mapping[int, Decimal | None]) -> tuple[Decimal, int]:
    """Return the weighted total so far (Σ weight × score / maximum over the criteria scored, out of 100,
    to two places) and how many criteria have a valid score. Blank and out-of-range values count as unscored.
    """
    total, scored = Decimal(0), 0
    for criterion in criteria:
        value = values.get(criterion.id)
        if value is None or score_problem(value, criterion) is not None:
            continue
        total += Decimal(criterion.weight) * value / Decimal(criterion.max_score)
        scored += 1
    return total.quantize(Decimal("0.01")), scored


def scores_of(assigned: Assignment) -> dict[int, Score]:
    """Return the sheet's saved scores by criterion id."""
    return {s.criterion_id: s for s in _scores(assigned)}


def history(assigned: Assignment) -> list[ScoreChange]:
    """Return the audit trail of one sheet, oldest first."""
    query = select(ScoreChange).where(ScoreChange.assignment_id == assigned.id).order_by(ScoreChange.id)
    return list(db.session.scalars(query))


def _scores(assigned: Assignment) -> list[Score]:
    query = select(Score).where(Score.assignment_id == assigned.id).execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def _upsert(assignment_id: int, criterion_id: int, value: Decimal, comment: str, now: datetime) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Score).values(
        assignment_id=assignment_id, criterion_id=criterion_id, value=value, comment=comment, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["assignment_id", "criterion_id"],
        set_={"value": value, "comment": comment, "updated_at": now},
    )
    db.session.execute(statement)
