"""Every indicator of the hand-computed city (see tests/metrics_factories.py), missing figures included."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from metrics_factories import NOW, ROLLED_DAYS, ROLLED_MONTHS, build_city, set_population

from portal.metrics import indicators, scorecard, trends
from portal.regions.models import Region


@pytest.fixture
def report(app):
    build_city()
    return indicators.report(2025, now=NOW)


def figures(report: indicators.Report, code: str) -> indicators.Figures:
    return next(f for f in report.regions if f.code == code)


def test_the_city_comes_first_then_every_county(report):
    assert [f.code for f in report.regions][:3] == ["330400", "330402", "330411"]
    assert len(report.counties) == 7 and report.city.is_city


def test_county_volume_is_records_times_fields_over_its_measured_published_datasets(report):
    nanhu = figures(report, "330402")
    assert (nanhu.datasets, nanhu.resources, nanhu.measured_datasets, nanhu.volume) == (2, 4, 1, 530)


def test_a_duplicate_file_and_a_removed_resource_do_not_add_volume(report):
    xiuzhou = figures(report, "330411")
    assert (xiuzhou.datasets, xiuzhou.resources, xiuzhou.volume) == (1, 2, 800)


def test_the_city_counts_every_published_dataset(report):
    city = report.city
    assert (city.datasets, city.resources, city.measured_datasets, city.volume) == (4, 7, 3, 3330)


def test_per_capita_volume_divides_by_the_years_population(report):
    assert figures(report, "330402").per_capita_volume == Decimal("0.5300")  # 530 / 1,000
    assert figures(report, "330411").per_capita_volume == Decimal("0.4000")  # 800 / 2,000
    assert report.city.per_capita_volume == Decimal("0.3330")  # 3,330 / 10,000


def test_the_share_measured_counts_datasets_with_a_volume(report):
    assert figures(report, "330402").measured_share == Decimal("0.5000")
    assert report.city.measured_share == Decimal("0.7500")


def test_a_county_with_no_datasets_shows_its_volume_figures_as_missing(report):
    jiashan = figures(report, "330421")
    assert (jiashan.datasets, jiashan.resources) == (0, 0)
    assert (jiashan.volume, jiashan.per_capita_volume, jiashan.measured_share) == (None, None, None)


def test_a_county_without_a_population_figure_has_no_per_capita_volume(report):
    haining = figures(report, "330481")
    assert (haining.population, haining.per_capita_volume) == (None, None)


def test_a_year_with_no_population_figure_shows_per_capita_as_missing(app):
    build_city()
    earlier = indicators.report(2024, now=NOW)
    assert all(f.population is None and f.per_capita_volume is None for f in earlier.regions)
    assert all(f.volume is None and f.datasets is None for f in earlier.regions)  # no snapshot in 2024
    assert all(f.downloads is None and f.dau is None for f in earlier.regions)  # no activity rolled up


def test_the_population_source_is_kept_with_the_figure(report):
    assert (report.city.population, report.city.population_source) == (10_000, "测试统计公报")


def test_downloads_and_api_calls_count_events_on_the_countys_datasets(report):
    assert (figures(report, "330402").downloads, figures(report, "330402").api_calls) == (2, 1)
    assert (figures(report, "330411").downloads, figures(report, "330411").api_calls) == (2, 0)
    assert (report.city.downloads, report.city.api_calls) == (4, 2)


def test_dau_is_the_average_of_daily_active_users_over_the_days_rolled_up(report):
    assert report.activity_days == ROLLED_DAYS
    assert report.city.dau == (Decimal(6) / ROLLED_DAYS).quantize(Decimal("0.01"))
    assert figures(report, "330402").dau == (Decimal(3) / ROLLED_DAYS).quantize(Decimal("0.01"))


def test_mau_is_the_average_of_monthly_active_users_over_the_months_rolled_up(report):
    assert report.city.mau == Decimal(4) / ROLLED_MONTHS  # March: A, B and the developer; April: A
    assert figures(report, "330402").mau == Decimal(2) / ROLLED_MONTHS
    assert figures(report, "330411").mau == Decimal(1) / ROLLED_MONTHS


def test_developers_count_for_the_city_only(report):
    assert report.city.developers == 1
    assert all(c.developers is None for c in report.counties)


def test_developers_registered_after_the_year_do_not_count(app):
    build_city()
    assert indicators.report(2024, now=NOW).city.developers == 0


def test_approved_applications_are_counted_per_quarter(report):
    nanhu = figures(report, "330402")
    assert nanhu.approved_by_quarter == (1, 1, 0, 1)  # the submitted and the returned ones do not count
    assert (nanhu.applications_approved, nanhu.exemplary) == (3, 1)
    assert (report.city.applications_approved, report.city.exemplary) == (3, 1)
    assert figures(report, "330411").approved_by_quarter == (0, 0, 0, 0)


def test_contest_entries_count_one_work_per_team_and_track(report):
    assert figures(report, "330402").contest_entries == 2
    assert report.city.contest_entries == 3  # with the team that has no county
    assert report.contests == 1


def test_datasets_per_priority_theme(app):
    from catalogue_factories import make_dataset, make_department

    from portal.metrics import rollup

    department = make_department(region_code="330402")
    make_dataset(department=department, themes=["交通出行"])
    make_dataset(department=department, themes=["交通出行", "医疗卫生"])
    rollup.roll_up(now=NOW)
    table = indicators.report(2025, now=NOW).themes
    counts = {t.title: t.city for t in table.priority}
    assert (counts["交通出行"], counts["医疗卫生"], counts["教育培训"]) == (2, 1, 0)


def test_the_scorecard_measures_each_county_against_its_targets(report):
    card = scorecard.build(report, current_quarter="2025Q4")
    row = next(r for r in card.rows if r.figures.code == "330402")
    statuses = {key: cell.status for key, cell in row.cells.items()}
    assert statuses["applications"] == "not_met"  # 2025Q3 was missed
    assert statuses["per_capita_volume"] == "met"  # 0.53 ≥ the counties' 0.4433
    assert statuses["measured_share"] == "not_met"  # 50 % < the counties' 66.67 %
    assert statuses["contest_entries"] == "met"
    assert statuses["downloads"] == "no_target" and row.cells["downloads"].rank == 1
    assert (row.targets_met, row.targets) == (2, 4)


def test_counties_are_held_to_the_counties_taken_together_not_to_the_city(report):
    assert report.counties_per_capita == Decimal("0.4433")  # (530 + 800) / (1,000 + 2,000)
    assert report.counties_measured_share == Decimal("0.6667")  # (1 + 1) / (2 + 1)
    card = scorecard.build(report, current_quarter="2025Q4")
    xiuzhou = next(r for r in card.rows if r.figures.code == "330411")
    assert xiuzhou.cells["per_capita_volume"].status == "not_met"  # 0.40 < 0.4433
    assert xiuzhou.cells["measured_share"].status == "met"


def test_the_scorecard_shows_a_county_with_no_data_as_missing_and_unranked(report):
    card = scorecard.build(report, current_quarter="2025Q4")
    jiashan = next(r for r in card.rows if r.figures.code == "330421")
    assert jiashan.cells["per_capita_volume"].status == "missing"
    assert jiashan.cells["per_capita_volume"].rank is None
    assert jiashan.cells["contest_entries"].status == "in_progress"  # the year is not over


def test_the_scorecard_sorts_missing_figures_last_either_way(report):
    card = scorecard.build(report, current_quarter="2025Q4")
    for descending in (True, False):
        ordered = scorecard.sort_rows(card.rows, "per_capita_volume", descending=descending)
        codes = [r.figures.code for r in ordered]
        assert codes[:2] == (["330402", "330411"] if descending else ["330411", "330402"])
        assert all(r.cells["per_capita_volume"].value is None for r in ordered[2:])


def test_monthly_trend_of_the_city(app):
    build_city()
    city = Region.query.filter_by(level="city").one()
    trend = trends.trend(2025, city, now=NOW)
    january, february, march = trend.months[:3]
    assert len(trend.months) == 11  # up to November
    assert january.events is None and january.mau is None  # before the first rollup: missing
    assert february.count("download") == 1
    assert (march.count("download"), march.count("api_call"), march.mau) == (3, 2, Decimal(3))
    assert march.dau == (Decimal(5) / 31).quantize(Decimal("0.01"))
    assert march.visitors == 2
    assert trend.months[10].volume == 3330 and trend.months[10].per_capita_volume == Decimal("0.3330")


def test_quarterly_trend_adds_up_months_and_averages_mau(app):
    build_city()
    nanhu = Region.query.filter_by(code="330402").one()
    q1, q2, q3, q4 = trends.trend(2025, nanhu, now=NOW).quarters
    assert (q1.count("download"), q1.applications_approved) == (2, 1)
    assert q1.mau == (Decimal(0 + 1) / 2).quantize(Decimal("0.01"))  # February 0, March 1
    assert q2.mau == (Decimal(1 + 0 + 0) / 3).quantize(Decimal("0.01"))
    assert q3.applications_approved == 0 and q4.applications_approved == 1
    assert q1.visitors is None  # visitors have no county


def test_years_offered_include_population_and_rollup_years_and_now(app):
    build_city()
    assert indicators.years(now=datetime(2026, 1, 2, tzinfo=UTC))[:2] == [2026, 2025]
    set_population("330402", 2021, 900)
    assert 2021 in indicators.years(now=NOW)  # a year with a population figure
