"""The pure parts of the statistics: per-capita arithmetic, shares, targets, days, charts; no app, no db."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from portal import clock
from portal.metrics import charts, per_capita, scorecard, themes


@pytest.mark.parametrize(
    ("volume", "population", "expected"),
    [
        (530, 1_000, Decimal("0.5300")),
        (3_330, 10_000, Decimal("0.3330")),
        (2, 3, Decimal("0.6667")),  # half up at the fourth place
        (1, 80_000, Decimal("0.0000")),  # 0.0000125 rounds down
        (1, 20_000, Decimal("0.0001")),  # 0.00005 rounds half up
        (12_000_000_000, 5_516_000, Decimal("2175.4895")),
        (0, 1_000, Decimal("0.0000")),  # measured, and empty: a true zero
    ],
)
def test_per_capita_divides_volume_by_population_to_four_places(volume, population, expected):
    assert per_capita.per_capita(volume, population) == expected


@pytest.mark.parametrize(("volume", "population"), [(None, 1_000), (530, None), (None, None), (530, 0)])
def test_per_capita_is_missing_without_a_volume_or_a_population(volume, population):
    assert per_capita.per_capita(volume, population) is None


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 2, Decimal("0.5000")), (3, 4, Decimal("0.7500")), (2, 3, Decimal("0.6667")), (0, 5, Decimal("0"))],
)
def test_share_is_part_over_whole(part, whole, expected):
    assert per_capita.share(part, whole) == expected


@pytest.mark.parametrize(("part", "whole"), [(0, 0), (None, 3), (1, None)])
def test_share_of_nothing_is_missing(part, whole):
    assert per_capita.share(part, whole) is None


def test_mean_rounds_half_up_to_two_places_and_is_missing_over_no_days():
    assert per_capita.mean(6, 266) == Decimal("0.02")
    assert per_capita.mean(5, 8) == Decimal("0.63")  # 0.625
    assert per_capita.mean(0, 10) == Decimal("0.00")
    assert per_capita.mean(3, 0) is None


def test_a_region_without_a_measured_dataset_has_no_volume():
    assert per_capita.volume(0, 0) is None
    assert per_capita.volume(2, 530) == 530
    assert per_capita.total([None, 3, None, 4]) == 7 and per_capita.total([None, None]) is None


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2025, 2, 28, 15, 59, 59, tzinfo=UTC), date(2025, 2, 28)),
        (datetime(2025, 2, 28, 16, 0, 0, tzinfo=UTC), date(2025, 3, 1)),
        (datetime(2025, 12, 31, 16, 0, 0, tzinfo=UTC), date(2026, 1, 1)),
    ],
)
def test_days_are_shanghai_days(moment, day):
    assert clock.day_of(moment) == day


def test_a_shanghai_day_runs_from_16_00_utc_the_day_before():
    start, end = clock.day_bounds(date(2025, 3, 1))
    assert (start, end) == (datetime(2025, 2, 28, 16, tzinfo=UTC), datetime(2025, 3, 1, 16, tzinfo=UTC))


def test_naive_moments_are_refused():
    with pytest.raises(ValueError):
        clock.day_of(datetime(2025, 3, 1))


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (930, [0, 250, 500, 750, 1000]),
        (7, [0, 2, 4, 6, 8]),
        (0.0734, [Decimal(0), Decimal("0.02"), Decimal("0.04"), Decimal("0.06"), Decimal("0.08")]),
        (None, [0, 1]),
    ],
)
def test_chart_ticks_are_round_numbers_reaching_the_maximum(maximum, ticks):
    assert charts.nice_ticks(maximum) == ticks


def test_bar_chart_scales_bars_and_leaves_missing_values_without_a_bar():
    items = [("南湖区", Decimal("0.53")), ("嘉善县", None), ("秀洲区", Decimal("0.4"))]
    chart = charts.bar_chart(items, width=356)  # a plot 190 px wide, up to the 0.6 tick
    assert [b.width for b in chart.bars] == [
        pytest.approx(190 * 0.53 / 0.6),
        0,
        pytest.approx(190 * 0.4 / 0.6),
    ]
    assert chart.bars[1].value is None and not chart.is_empty


def test_line_chart_breaks_the_line_at_a_missing_month():
    chart = charts.line_chart(["01", "02", "03"], [("下载", [5, None, 10])])
    (line,) = chart.lines
    assert line.path.count("M") == 2 and "L" not in line.path
    assert [p[2] for p in line.points] == [5, 10] and line.values == (5, None, 10)


def test_a_chart_of_nothing_is_empty():
    assert charts.line_chart(["01"], [("下载", [None])]).is_empty
    assert charts.bar_chart([("南湖区", None)]).is_empty


@pytest.mark.parametrize(
    ("value", "target", "status"),
    [
        (Decimal("0.53"), Decimal("0.333"), "met"),
        (Decimal("0.333"), Decimal("0.333"), "met"),
        (Decimal("0.2"), Decimal("0.333"), "not_met"),
        (None, Decimal(1), "missing"),
        (Decimal(1), None, "missing"),
    ],
)
def test_at_least_compares_with_the_target(value, target, status):
    assert scorecard.at_least(value, target) == status


@pytest.mark.parametrize(
    ("approved", "current", "status", "met", "due"),
    [
        ((1, 1, 0, 1), "2025Q4", "not_met", 3, 4),  # Q3 missed
        ((1, 1, 1, 0), "2025Q4", "in_progress", 3, 4),  # Q4 still running
        ((1, 2, 1, 1), "2025Q4", "met", 4, 4),
        ((1, 0, 0, 0), "2025Q2", "in_progress", 1, 2),  # Q3 and Q4 not due yet
        ((1, 1, 1, 1), "2026Q1", "met", 4, 4),  # a past year
        ((0, 0, 0, 0), "2024Q3", "in_progress", 0, 0),  # a year not begun
    ],
)
def test_one_approved_application_is_due_every_quarter(approved, current, status, met, due):
    cell = scorecard.applications_cell(approved, clock.quarters_of(2025), current)
    assert (cell.status, cell.value, cell.due) == (status, met, due)


def test_a_yearly_target_is_in_progress_until_the_year_is_over():
    assert scorecard.yearly_cell(3, 5, year_over=False).status == "in_progress"
    assert scorecard.yearly_cell(3, 5, year_over=True).status == "not_met"
    assert scorecard.yearly_cell(5, 5, year_over=False).status == "met"


def test_ranks_are_competition_ranks_and_missing_values_are_not_ranked():
    assert scorecard.ranks([10, 30, None, 30, 5]) == [3, 1, None, 1, 4]


def test_themes_list_the_priority_domains_first_even_without_datasets():
    synced = [(7, "jtcx", "交通出行"), (9, "qita", "其他主题")]
    table = themes.build(synced, {(1, 7): 2, (2, 7): 3, (1, 9): 4})
    assert [r.title for r in table.priority][:2] == ["交通出行", "医疗卫生"]
    assert (table.priority[0].city, table.priority[1].city) == (5, 0)
    assert [(r.title, r.counts) for r in table.others] == [("其他主题", {1: 4})]


def test_themes_without_a_snapshot_are_missing_not_zero():
    assert themes.build([(7, "jtcx", "交通出行")], None).priority[0].city is None
