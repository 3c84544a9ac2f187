"""Judges' scores: bad input refused with a clear message, double submits stored once, changes audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from contest_factories import (
    HOUR,
    assign,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from sqlalchemy import func, select

from portal.contest import scoring
from portal.contest.models import Score, ScoreChange
from portal.extensions import db

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def sheet(app):
    contest = make_contest()
    round_ = make_round(contest, "judging")
    return assign(make_entry(make_team(contest), round_), make_judge(round_))


def mark(sheet, position: int, value: str, comment: str = "") -> dict:
    return {sheet.round.criteria[position].id: scoring.Mark(Decimal(value), comment)}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.5", "The score for 创新性 is above its maximum of 10."),
        ("-1", "The score for 创新性 cannot be negative."),
        ("7.3", "The score for 创新性 must be a whole or half point."),
    ],
)
def test_bad_scores_are_refused_with_a_clear_message(sheet, value, message):
    with pytest.raises(scoring.ScoringError) as refused:
        scoring.save_scores(
            sheet, mark(sheet, 0, value), by=sheet.judge, now=sheet.round.judging_opens_at + HOUR
        )
    assert str(refused.value) == message
    assert count(Score) == 0


@pytest.mark.parametrize("value", ["0", "7.5", "10"])
def test_scores_from_zero_to_the_maximum_in_half_points_are_accepted(sheet, value):
    scoring.save_scores(sheet, mark(sheet, 0, value), by=sheet.judge, now=sheet.round.judging_opens_at + HOUR)
    assert scoring.scores_of(sheet)[sheet.round.criteria[0].id].value == Decimal(value)


def test_a_sheet_with_a_blank_criterion_cannot_be_submitted(sheet):
    with pytest.raises(scoring.ScoringError, match="missing: 数据应用、完成度"):
        scoring.save_scores(
            sheet, mark(sheet, 0, "8"), by=sheet.judge, now=sheet.round.judging_opens_at + HOUR, submit=True
        )
    assert sheet.status == "assigned"


def test_a_draft_is_saved_and_completed_later(sheet):
    now = sheet.round.judging_opens_at + HOUR
    scoring.save_scores(sheet, mark(sheet, 0, "8", "很有新意"), by=sheet.judge, now=now)
    assert sheet.status == "assigned"
    rest = mark(sheet, 1, "9") | mark(sheet, 2, "4.5")
    scoring.save_scores(sheet, rest, by=sheet.judge, now=now + HOUR, submit=True)
    assert sheet.status == "submitted"
    saved = {s.criterion.name: (s.value, s.comment) for s in scoring.scores_of(sheet).values()}
    assert saved == {"创新性": (8, "很有新意"), "数据应用": (9, ""), "完成度": (Decimal("4.5"), "")}


def test_a_double_submitted_sheet_is_stored_once(sheet):
    now = sheet.round.judging_opens_at + HOUR
    score_sheet(sheet, (8, 9, 4), now=now)
    first_submitted_at = sheet.submitted_at
    score_sheet(sheet, (8, 9, 4), now=now + HOUR)  # the same form sent again
    assert count(Score) == 3
    assert count(ScoreChange) == 3
    assert sheet.status == "submitted" and sheet.submitted_at == first_submitted_at


def test_a_double_submit_through_the_form_is_stored_once(client, sheet):
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(sheet.judge_id)
    form = {f"score_{c.id}": v for c, v in zip(sheet.round.criteria, ("8", "9", "4"), strict=True)}
    for _ in range(2):
        response = client.post(f"/contest/judging/assignments/{sheet.id}", data=form | {"action": "submit"})
        assert response.status_code == 302
    assert count(Score) == 3 and count(ScoreChange) == 3
    db.session.refresh(sheet)
    assert sheet.status == "submitted"


def test_every_change_is_kept_with_who_when_old_and_new(sheet):
    now = sheet.round.judging_opens_at + HOUR
    score_sheet(sheet, (8, 9, 4), now=now)
    scoring.save_scores(sheet, mark(sheet, 0, "6.5", "复核后下调"), by=sheet.judge, now=now + HOUR)
    changes = scoring.history(sheet)
    assert len(changes) == 4
    last = changes[-1]
    assert (last.old_value, last.new_value, last.new_comment) == (8, Decimal("6.5"), "复核后下调")
    assert last.changed_by_id == sheet.judge_id and last.changed_at == now + HOUR
    assert changes[0].old_value is None  # the first score of a criterion is a change from nothing


def test_a_judge_cannot_score_another_judges_sheet(sheet):
    other = make_judge(sheet.round)
    with pytest.raises(scoring.ScoringError, match="only entries assigned to you"):
        scoring.save_scores(sheet, mark(sheet, 0, "8"), by=other, now=sheet.round.judging_opens_at + HOUR)


def test_a_sheet_is_locked_once_the_results_are_published(sheet):
    sheet.round.published_at = sheet.round.judging_opens_at
    with pytest.raises(scoring.ScoringError, match="locked"):
        scoring.save_scores(
            sheet, mark(sheet, 0, "8"), by=sheet.judge, now=sheet.round.judging_opens_at + HOUR
        )


def test_the_form_shows_the_message_of_a_score_above_the_maximum(client, sheet):
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(sheet.judge_id)
    client.set_cookie("lang", "en")
    criterion = sheet.round.criteria[2]
    response = client.post(
        f"/contest/judging/assignments/{sheet.id}", data={f"score_{criterion.id}": "6", "action": "save"}
    )
    assert response.status_code == 400
    assert "The score for 完成度 is above its maximum of 5." in response.get_data(as_text=True)
    assert count(Score) == 0
