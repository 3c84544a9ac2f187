"""Equal round scores with the defaults: the rubric's criteria in order, then the earlier submission."""

from __future__ import annotations

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

from portal.contest import results, setup
from portal.extensions import db

# 40 % of 10 points, 30 % of 10, 30 % of 10: (8, 4, 6), (5, 8, 6) and (5, 7, 7) all weigh 62.
NO_POSITIONS = [
    setup.CriterionSpec("创新性", 40, 10),
    setup.CriterionSpec("数据应用", 30, 10),
    setup.CriterionSpec("完成度", 30, 10),
]


def ranked_titles(round_) -> list[tuple[str, int]]:
    [(_track, rows)] = results.compute(round_).tracks
    return [(row.entry.title, row.result.rank) for row in rows]


def two_entries(earlier: tuple, later: tuple, *, rubric=NO_POSITIONS):
    """Score two entries of one track, the first submitted an hour before the second; return the round."""
    contest = make_contest()
    round_ = make_round(contest, "judging", rubric=False)
    setup.set_rubric(round_, rubric)
    judge = make_judge(round_)
    first = make_entry(make_team(contest), round_, title="先交的作品")
    second = make_entry(make_team(contest), round_, title="后交的作品")
    second.submitted_at = first.submitted_at + HOUR
    score_sheet(assign(first, judge), earlier)
    score_sheet(assign(second, judge), later)
    db.session.flush()
    return round_


def test_the_defaults_break_ties_on_every_criterion_in_rubric_order(app):
    round_ = two_entries((5, 7, 7), (5, 7, 7))
    assert [c.name for c in round_.tiebreak_criteria] == ["创新性", "数据应用", "完成度"]


def test_equal_scores_are_decided_by_the_first_criterion(app):
    round_ = two_entries((5, 8, 6), (8, 4, 6))  # 62 each; the later one is better on 创新性
    assert ranked_titles(round_) == [("后交的作品", 1), ("先交的作品", 2)]


def test_equal_scores_and_first_criterion_are_decided_by_the_second(app):
    round_ = two_entries((5, 6, 8), (5, 8, 6))  # 62 each, 创新性 equal; the later one is better on 数据应用
    assert ranked_titles(round_) == [("后交的作品", 1), ("先交的作品", 2)]


def test_equal_on_every_criterion_the_earlier_submission_wins(app):
    round_ = two_entries((5, 7, 7), (5, 7, 7))
    assert ranked_titles(round_) == [("先交的作品", 1), ("后交的作品", 2)]


def test_a_typed_position_reorders_the_criteria_and_changes_the_outcome(app):
    typed = [
        setup.CriterionSpec("创新性", 40, 10),
        setup.CriterionSpec("数据应用", 30, 10, tiebreak_order=1),
        setup.CriterionSpec("完成度", 30, 10),
    ]
    round_ = two_entries((5, 8, 6), (8, 4, 6), rubric=typed)  # as in the first-criterion test
    assert [c.name for c in round_.tiebreak_criteria] == ["数据应用", "创新性", "完成度"]
    assert ranked_titles(round_) == [("先交的作品", 1), ("后交的作品", 2)]  # 数据应用 now decides


@pytest.mark.parametrize(
    ("positions", "order"),
    [
        ((None, None, None), ["创新性", "数据应用", "完成度"]),
        ((None, None, 1), ["完成度", "创新性", "数据应用"]),
        ((2, None, 1), ["完成度", "创新性", "数据应用"]),
        ((3, 1, 2), ["数据应用", "完成度", "创新性"]),
    ],
)
def test_typed_positions_come_first_and_the_rest_keep_the_rubric_order(app, positions, order):
    contest = make_contest()
    round_ = make_round(contest, rubric=False)
    specs = [
        setup.CriterionSpec(s.name, s.weight, s.max_score, tiebreak_order=p)
        for s, p in zip(NO_POSITIONS, positions, strict=True)
    ]
    setup.set_rubric(round_, specs)
    assert [c.name for c in round_.tiebreak_criteria] == order
