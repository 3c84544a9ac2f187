"""Rubric scores, aggregation, normalisation and ranks against hand-computed examples; no app, no database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from portal.contest import ranking
from portal.contest.ranking import Contender, Criterion, Rules, Sheet

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
# 创新性 40% of 10 points, 数据应用 30% of 20 points, 完成度 30% of 5 points
RUBRIC = [Criterion(1, 40, 10), Criterion(2, 30, 20), Criterion(3, 30, 5)]


def sheets_with_totals(entry_id: int, totals: list[float]) -> list[Sheet]:
    """Sheets whose weighted score is each total: the first criterion carries it, the others are full."""
    # 40·a/10 + 30 + 30 = total  ⇒  a = (total − 60) / 4, so totals from 60 to 100 are reachable
    return [Sheet(entry_id, judge, {1: (t - 60) / 4, 2: 20, 3: 5}) for judge, t in enumerate(totals, 1)]


def contender(entry_id: int, group: str = "赛道一", minutes: int = 0) -> Contender:
    return Contender(entry_id, group, T0 + timedelta(minutes=minutes))


def test_weighted_score_is_out_of_100():
    # 40×8/10 + 30×15/20 + 30×4/5 = 32 + 22.5 + 24
    assert ranking.weighted_score({1: 8, 2: 15, 3: 4}, RUBRIC) == pytest.approx(78.5)


def test_weighted_score_of_full_marks_is_100():
    assert ranking.weighted_score({1: 10, 2: 20, 3: 5}, RUBRIC) == pytest.approx(100)


def test_weighted_score_refuses_a_sheet_missing_a_criterion():
    with pytest.raises(ranking.IncompleteSheet):
        ranking.weighted_score({1: 8, 2: 15}, RUBRIC)


def test_mean_of_three_judges():
    [result] = ranking.compute(RUBRIC, sheets_with_totals(7, [78.5, 80, 90]), [contender(7)], Rules())
    assert result.mean == pytest.approx(248.5 / 3)  # 82.8333…
    assert result.score == pytest.approx(82.833333333)
    assert result.judges == 3
    assert result.trimmed is None  # fewer than five judges: no trimmed figure


def test_trimmed_mean_with_five_judges_drops_the_highest_and_the_lowest():
    rules = Rules(aggregation=ranking.TRIMMED_MEAN)
    [result] = ranking.compute(RUBRIC, sheets_with_totals(7, [62, 70, 80, 85, 100]), [contender(7)], rules)
    assert result.mean == pytest.approx(397 / 5)  # 79.4
    assert result.trimmed == pytest.approx((70 + 80 + 85) / 3)  # 78.333…
    assert result.score == pytest.approx(78.333333333)


def test_trimmed_mean_with_four_judges_is_the_plain_mean():
    rules = Rules(aggregation=ranking.TRIMMED_MEAN)
    [result] = ranking.compute(RUBRIC, sheets_with_totals(7, [62, 70, 80, 100]), [contender(7)], rules)
    assert result.score == pytest.approx(78)  # (62 + 70 + 80 + 100) / 4, nothing dropped
    assert result.trimmed is None


def test_trimmed_mean_of_values():
    assert ranking.trimmed_mean([50, 70, 80, 85, 100]) == pytest.approx(235 / 3)
    assert ranking.trimmed_mean([50, 70, 80, 100]) == pytest.approx(75)


def test_z_score_normalisation_puts_a_lenient_and_a_harsh_judge_on_one_scale():
    # judge 1 (lenient): 90 and 80, μ₁ = 85, σ₁ = 5; judge 2 (harsh): 70 and 50, μ₂ = 60, σ₂ = 10
    # all scores 90, 80, 70, 50: μ = 72.5, σ² = (17.5² + 7.5² + 2.5² + 22.5²) / 4 = 218.75
    scores = {(1, 1): 90.0, (2, 1): 80.0, (1, 2): 70.0, (2, 2): 50.0}
    normalised = ranking.normalise(scores)
    sigma = math.sqrt(218.75)
    assert normalised[(1, 1)] == pytest.approx(72.5 + sigma)  # z = +1 for both judges on entry 1
    assert normalised[(1, 2)] == pytest.approx(72.5 + sigma)
    assert normalised[(2, 1)] == pytest.approx(72.5 - sigma)
    assert normalised[(2, 2)] == pytest.approx(72.5 - sigma)


def test_a_judge_with_no_spread_gets_the_round_mean():
    scores = {(1, 1): 90.0, (2, 1): 70.0, (1, 3): 80.0, (2, 3): 80.0}  # judge 3 gives 80 to both
    normalised = ranking.normalise(scores)
    assert normalised[(1, 3)] == pytest.approx(80) and normalised[(2, 3)] == pytest.approx(80)  # μ = 80


def test_normalised_scores_are_clamped_to_0_100():
    # judge 1: 0, 0, 0, 100 (μ₁ 25); judge 2: 100 on four entries (σ₂ = 0); μ = 62.5, σ ≈ 48.41
    scores = {(e, 1): 0.0 for e in (1, 2, 3)} | {(4, 1): 100.0} | {(e, 2): 100.0 for e in (1, 2, 3, 4)}
    normalised = ranking.normalise(scores)
    assert normalised[(4, 1)] == 100  # 62.5 + 48.41 × 1.732 ≈ 146 before the clamp
    assert normalised[(1, 1)] == pytest.approx(62.5 - math.sqrt(2343.75) * 25 / math.sqrt(1875))


def test_round_score_uses_the_normalised_figures_when_the_round_says_so():
    sheets = sheets_with_totals(1, [90, 70]) + sheets_with_totals(2, [80, 60])
    results = ranking.compute(RUBRIC, sheets, [contender(1), contender(2)], Rules(normalise=True))
    by_id = {r.entry_id: r for r in results}
    assert by_id[1].normalised == by_id[1].score
    assert by_id[1].mean == pytest.approx(80)
    assert by_id[1].score > by_id[2].score


def test_higher_score_ranks_first_and_an_unscored_entry_gets_no_rank():
    sheets = sheets_with_totals(1, [70]) + sheets_with_totals(2, [90])
    results = ranking.compute(RUBRIC, sheets, [contender(1), contender(2), contender(3)], Rules())
    assert [(r.entry_id, r.rank) for r in results] == [(2, 1), (1, 2), (3, None)]


def test_tie_breaks_on_the_first_tiebreak_criterion_mean():
    # both 70: entry 1 has full 数据应用 and no 完成度, entry 2 the other way round
    one = Sheet(1, 1, {1: 10, 2: 20, 3: 0})  # 40 + 30 + 0 = 70
    two = Sheet(2, 1, {1: 10, 2: 0, 3: 5})  # 40 + 0 + 30 = 70
    rules = Rules(tiebreak=(3, 2))  # 完成度 first
    results = ranking.compute(RUBRIC, [one, two], [contender(1), contender(2)], rules)
    assert [(r.entry_id, r.rank) for r in results] == [(2, 1), (1, 2)]
    rules = Rules(tiebreak=(2, 3))  # 数据应用 first
    results = ranking.compute(RUBRIC, [one, two], [contender(1), contender(2)], rules)
    assert [(r.entry_id, r.rank) for r in results] == [(1, 1), (2, 2)]


def test_tie_breaks_on_the_earlier_submission_when_criteria_agree():
    sheets = sheets_with_totals(1, [80]) + sheets_with_totals(2, [80])
    results = ranking.compute(
        RUBRIC, sheets, [contender(1, minutes=30), contender(2, minutes=5)], Rules(tiebreak=(1, 2, 3))
    )
    assert [(r.entry_id, r.rank) for r in results] == [(2, 1), (1, 2)]


def test_entries_still_equal_share_a_rank_and_the_next_rank_is_skipped():
    sheets = sheets_with_totals(1, [90]) + sheets_with_totals(2, [80]) + sheets_with_totals(3, [80])
    sheets += sheets_with_totals(4, [70])
    contenders = [contender(e) for e in (1, 2, 3, 4)]  # same submission time
    results = ranking.compute(RUBRIC, sheets, contenders, Rules(tiebreak=(1,)))
    assert [r.rank for r in results] == [1, 2, 2, 4]


def test_float_noise_does_not_split_a_tie():
    # 80.1 and 79.9 average to 80 exactly on paper; in floats the sum may be off in the last bit
    sheets = sheets_with_totals(1, [80.1, 79.9]) + sheets_with_totals(2, [80, 80])
    results = ranking.compute(RUBRIC, sheets, [contender(1), contender(2)], Rules())
    assert [r.rank for r in results] == [1, 1]


def test_entries_are_ranked_within_their_track():
    sheets = sheets_with_totals(1, [90]) + sheets_with_totals(2, [60]) + sheets_with_totals(3, [70])
    contenders = [contender(1, "交通"), contender(2, "民生"), contender(3, "民生")]
    results = ranking.compute(RUBRIC, sheets, contenders, Rules())
    assert [(r.group, r.entry_id, r.rank) for r in results] == [
        ("交通", 1, 1),
        ("民生", 3, 1),
        ("民生", 2, 2),
    ]


def test_advance_count_lets_entries_sharing_the_last_place_through():
    sheets = []
    for entry, total in [(1, 90), (2, 80), (3, 80), (4, 70)]:
        sheets += sheets_with_totals(entry, [total])
    contenders = [contender(e) for e in (1, 2, 3, 4)]
    results = ranking.compute(RUBRIC, sheets, contenders, Rules(advance_count=2))
    assert [(r.entry_id, r.advances) for r in results] == [(1, True), (2, True), (3, True), (4, False)]


def test_advance_cutoff_lets_scores_at_or_above_it_through():
    sheets = sheets_with_totals(1, [85]) + sheets_with_totals(2, [84.9])
    results = ranking.compute(RUBRIC, sheets, [contender(1), contender(2)], Rules(advance_cutoff=85))
    assert [(r.entry_id, r.advances) for r in results] == [(1, True), (2, False)]


def test_sheets_of_entries_that_do_not_compete_are_ignored():
    sheets = sheets_with_totals(1, [80]) + sheets_with_totals(99, [10])  # 99 was disqualified
    [result] = ranking.compute(RUBRIC, sheets, [contender(1)], Rules(normalise=True))
    assert result.score == pytest.approx(80)


def test_judge_statistics_show_mean_spread_and_offset_to_co_judges():
    scores = {(1, 1): 90.0, (2, 1): 80.0, (1, 2): 70.0, (2, 2): 50.0}
    first, second = ranking.judge_statistics(scores)
    assert (first.judge_id, first.count, first.mean, first.spread) == (1, 2, 85, 5)
    assert (first.lowest, first.highest) == (80, 90)
    assert first.offset == pytest.approx(25)  # (90 − 70 + 80 − 50) / 2
    assert second.offset == pytest.approx(-25)
    assert first.is_outlier and second.is_outlier


def test_a_judge_without_co_judges_has_no_offset():
    [only] = ranking.judge_statistics({(1, 5): 60.0})
    assert only.offset is None and not only.is_outlier
