"""Which population a year's per-capita volume uses, and the one definition of a dataset's volume."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from catalogue_factories import make_dataset, make_department
from factories import region
from sqlalchemy import delete, select

from portal.catalogue.models import Resource
from portal.extensions import db
from portal.metrics import indicators, rollup, snapshots, trends
from portal.regions import population
from portal.regions.models import Population

NOW = datetime(2026, 4, 2, 4, 0, tzinfo=UTC)


def set_population(code: str, year: int, people: int) -> None:
    db.session.add(Population(region=region(code), year=year, population=people, source=f"{year}年统计公报"))


@pytest.fixture
def city(app):
    """南湖区 has only a 2021 figure, 秀洲区 2021 and 2025, the city 2021; 2026 has none of its own.

    Volumes: 南湖区 100 × 5 = 500, 秀洲区 200 × 4 = 800, the city the two; a snapshot in March 2026.
    """
    db.session.execute(delete(Population))
    set_population("330400", 2021, 10_000)
    set_population("330402", 2021, 1_000)
    set_population("330411", 2021, 1_600)
    set_population("330411", 2025, 2_000)
    make_dataset(department=make_department(region_code="330402"), resources=[{"records": 100, "fields": 5}])
    make_dataset(department=make_department(region_code="330411"), resources=[{"records": 200, "fields": 4}])
    db.session.flush()
    snapshots.take(date(2026, 3, 1), rollup.city_id(), NOW)
    db.session.commit()


def figures(report: indicators.Report, code: str) -> indicators.Figures:
    return next(f for f in report.regions if f.code == code)


def test_a_year_without_its_own_figure_uses_the_latest_earlier_one(city):
    nanhu = figures(indicators.report(2026, now=NOW), "330402")
    assert (nanhu.population, nanhu.population_year) == (1_000, 2021)
    assert nanhu.per_capita_volume == Decimal("0.5000")  # 500 / 1,000


def test_the_latest_earlier_figure_wins_over_older_ones(city):
    xiuzhou = figures(indicators.report(2026, now=NOW), "330411")
    assert (xiuzhou.population, xiuzhou.population_year) == (2_000, 2025)
    assert xiuzhou.per_capita_volume == Decimal("0.4000")  # 800 / 2,000, not 800 / 1,600


def test_a_years_own_figure_is_used_when_there_is_one(city):
    assert population.in_effect(2025)[region("330411").id].population == 2_000
    assert population.in_effect(2024)[region("330411").id].population == 1_600


def test_a_year_before_any_figure_has_no_population_and_no_per_capita_volume(city):
    report = indicators.report(2020, now=NOW)
    assert all(f.population is None and f.population_year is None for f in report.regions)
    assert all(f.per_capita_volume is None for f in report.regions)
    assert population.in_effect(2020) == {}


def test_the_city_uses_its_own_latest_figure(city):
    report = indicators.report(2026, now=NOW)
    assert (report.city.population_year, report.city.per_capita_volume) == (2021, Decimal("0.1300"))
    assert report.earlier_population_years == (2021, 2025)


def test_the_monthly_trend_uses_the_same_population(city):
    trend = trends.trend(2026, region("330402"), now=NOW)
    assert trend.months[2].per_capita_volume == Decimal("0.5000")  # March, the snapshot's month


def test_the_api_gives_the_population_year_and_agrees_with_the_page(client, city):
    items = {i["code"]: i for i in client.get("/api/v1/metrics/counties?year=2026").get_json()["items"]}
    html = client.get("/stats/?year=2026").get_data(as_text=True)
    for code, year in (("330400", 2021), ("330402", 2021), ("330411", 2025)):
        row = re.search(rf'<tr data-region="{code}".*?</tr>', html, re.S).group(0)
        assert items[code]["population_year"] == year
        assert (
            f'data-key="population" data-value="{items[code]["population"]}" data-population-year="{year}"'
            in row
        )
        shown = re.search(r'data-key="per_capita_volume" data-value="([^"]*)"', row).group(1)
        assert Decimal(shown) == Decimal(str(items[code]["per_capita_volume"]))
    assert items["330421"]["population_year"] is None and items["330421"]["per_capita_volume"] is None


def test_the_page_says_which_earlier_years_it_used(client, city):
    html = client.get("/stats/?year=2026").get_data(as_text=True)
    assert 'data-testid="population-year" data-years="2021,2025"' in html
    assert 'data-testid="no-population"' not in html


def test_the_page_says_nothing_about_earlier_years_when_the_years_own_figures_are_used(client, city):
    db.session.execute(delete(Population))
    set_population("330400", 2026, 10_000)
    db.session.commit()
    html = client.get("/stats/?year=2026").get_data(as_text=True)
    assert 'data-testid="population-year"' not in html and 'data-testid="no-population"' not in html


def test_the_methodology_states_the_rule_and_the_year_of_each_figure(client, city):
    html = client.get("/stats/methodology?year=2026").get_data(as_text=True)
    assert 'data-testid="population-rule"' in html
    row = re.search(r'<table class="data" data-testid="populations">.*?</table>', html, re.S).group(0)
    assert 'data-population-year="2021"' in row and 'data-population-year="2025"' in row
    assert "1,300 / 10,000 = 0.1300" in html  # the worked example, with the 2021 figure


# One definition of a dataset's volume: the catalogue and the statistics read the same function.


@pytest.fixture
def duplicated(app):
    dataset = make_dataset(
        department=make_department(region_code="330424"),
        resources=[
            {"records": 100, "fields": 5},
            {"records": 100, "fields": 5, "format": "XLSX", "is_valid": False, "invalid_reason": "duplicate"},
            {"records": 10, "fields": 3, "state": "removed"},
            {"format": "PDF"},
        ],
    )
    db.session.commit()
    return dataset


def test_a_duplicated_file_counts_once_in_the_catalogue(client, duplicated):
    assert duplicated.volume == 500
    assert client.get(f"/api/v1/datasets/{duplicated.name}").get_json()["volume"] == 500
    html = client.get(f"/datasets/{duplicated.name}").get_data(as_text=True)
    assert re.search(r'data-figure="volume"><strong>\s*<span data-volume="500">', html)


def test_a_duplicated_file_counts_once_in_the_statistics(client, duplicated):
    haiyan = next(r for r in snapshots.measure(rollup.city_id()) if r.region_id == region("330424").id)
    assert (haiyan.measured_datasets, haiyan.volume) == (1, 500)
    items = client.get("/api/v1/metrics/counties").get_json()["items"]
    assert next(i for i in items if i["code"] == "330424")["volume"] == 500


def test_each_resource_counts_the_same_in_python_and_in_sql(duplicated):
    in_sql = dict(db.session.execute(select(Resource.id, Resource.counted_volume)).all())
    assert {r.id: r.counted_volume for r in duplicated.resources} == in_sql
    assert sorted(in_sql.values(), key=lambda v: (v is None, v)) == [500, None, None, None]
