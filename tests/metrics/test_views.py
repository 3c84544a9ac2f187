"""The statistics pages, the dashboard, the exports and the JSON API: the same figures everywhere."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal.dbtypes import utcnow
from portal.metrics import indicators

API_FIELDS = (
    "datasets",
    "volume",
    "population",
    "per_capita_volume",
    "downloads",
    "api_calls",
    "dau",
    "mau",
    "applications_approved",
)


def page_figures(html: str) -> dict[str, dict[str, str]]:
    """Read the county table of a page: region code → figure → its exact value ('' when missing)."""
    rows = re.findall(r'<tr data-region="(\d+)"(.*?)</tr>', html, re.S)
    return {code: dict(re.findall(r'data-key="(\w+)" data-value="([^"]*)"', body)) for code, body in rows}


def as_decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def test_the_public_page_shows_the_figures_of_the_year(client, city):
    page = client.get("/stats/?year=2025")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-figure="per_capita_volume" data-value="0.3330"' in html
    assert page_figures(html)["330402"]["volume"] == "530"
    assert 'data-chart="bar"' in html and "<svg" in html


def test_a_missing_figure_is_shown_as_a_dash_never_as_zero(client, city):
    html = client.get("/stats/?year=2025").get_data(as_text=True)
    jiashan = page_figures(html)["330421"]
    assert (jiashan["volume"], jiashan["per_capita_volume"], jiashan["datasets"]) == ("", "", "0")
    row = re.search(r'<tr data-region="330421".*?</tr>', html, re.S).group(0)
    assert 'class="missing"' in row


def test_a_year_without_population_says_so(client, city):
    html = client.get("/stats/?year=2024", headers={"Cookie": "lang=en"}).get_data(as_text=True)
    assert 'data-testid="no-population"' in html
    assert 'href="/stats/?year=2025"' in html  # the latest year with a figure


def test_the_public_table_sorts_by_a_figure_with_missing_ones_last(client, city):
    html = client.get("/stats/?year=2025&sort=per_capita_volume&order=desc").get_data(as_text=True)
    codes = re.findall(r'<tr data-region="(\d+)"', html)
    assert codes[:3] == ["330400", "330402", "330411"]  # the city stays on top
    assert 'aria-sort="descending"' in html


def test_the_methodology_states_the_population_and_its_source(client, city):
    html = client.get("/stats/methodology?year=2025").get_data(as_text=True)
    assert "测试统计公报" in html and "10,000" in html
    assert "records × fields" in html or "记录数" in html
    assert "3,330 / 10,000 = 0.3330" in html  # the worked example


@pytest.mark.parametrize("url", ["/stats/", "/stats/?year=1800", "/stats/?year=abc", "/stats/methodology"])
def test_the_public_pages_answer_on_an_empty_database(client, url):
    assert client.get(url).status_code == 200


def test_the_api_figures_equal_the_pages(client, city):
    answer = client.get("/api/v1/metrics/counties?year=2025").get_json()
    shown = page_figures(client.get("/stats/?year=2025").get_data(as_text=True))
    assert [item["code"] for item in answer["items"]][:2] == ["330400", "330402"]
    assert answer["total"] == 8
    for item in answer["items"]:
        for field in API_FIELDS:
            assert as_decimal(item[field]) == as_decimal(shown[item["code"]][field]), (item["code"], field)


def test_the_api_gives_missing_figures_as_null(client, city):
    items = {i["code"]: i for i in client.get("/api/v1/metrics/counties?year=2025").get_json()["items"]}
    assert (items["330421"]["volume"], items["330421"]["per_capita_volume"]) == (None, None)
    assert (items["330402"]["per_capita_volume"], items["330402"]["downloads"]) == (0.53, 2)
    assert items["330400"]["dau"] == float(indicators.report(2025, now=utcnow()).city.dau)


@pytest.mark.parametrize("year", ["20x5", "1999", "99999", "２０２５", "-2025"])
def test_the_api_refuses_a_bad_year_with_a_json_error(client, year):
    answer = client.get(f"/api/v1/metrics/counties?year={year}")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == 400 and "year" in answer.get_json()["error"]["message"]


def test_the_api_defaults_to_the_current_year(client):
    assert client.get("/api/v1/metrics/counties").get_json()["year"] == utcnow().year


def test_the_dashboard_is_for_the_office_only(client, login):
    assert client.get("/admin/metrics/").status_code == 302  # to sign in
    login("county_member")
    assert client.get("/admin/metrics/").status_code == 403
    assert client.get("/admin/metrics/export.csv").status_code == 403


def test_the_dashboard_shows_the_scorecard(client, login, city):
    login("admin")
    page = client.get("/admin/metrics/?year=2025&sort=per_capita_volume&order=desc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.findall(r'<tr data-county="(\d+)"', html)[:2] == ["330402", "330411"]
    cell = re.search(
        r'<tr data-county="330402".*?data-indicator="applications" data-status="(\w+)"', html, re.S
    )
    assert cell.group(1) == "not_met"


def test_the_admin_index_links_to_the_dashboard(client, login):
    login("admin")
    assert "/admin/metrics/" in client.get("/admin/").get_data(as_text=True)


def test_the_csv_export_reads_back_as_the_figures(client, login, city):
    login("admin")
    answer = client.get("/admin/metrics/export.csv?year=2025&table=counties")
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert answer.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    report = indicators.report(2025, now=utcnow())
    assert len(rows) == 1 + len(report.regions)
    by_code = {row[0]: row for row in rows[1:]}
    header = rows[0]
    nanhu = dict(zip(header, by_code["330402"], strict=True))
    assert nanhu[header[6]] == "530" and nanhu[header[9]] == "0.5300"  # volume, per-capita volume
    assert by_code["330421"][6] == "" and by_code["330421"][9] == ""  # missing, not 0


def test_the_xlsx_export_reads_back_with_every_table(client, login, city):
    login("admin")
    answer = client.get("/admin/metrics/export.xlsx?year=2025")
    workbook = load_workbook(io.BytesIO(answer.data))
    assert len(workbook.worksheets) == 5
    counties = list(workbook.worksheets[0].iter_rows(values_only=True))
    row = next(r for r in counties if r[0] == "330402")
    assert (row[2], row[6], Decimal(str(row[9]))) == (2, 530, Decimal("0.53"))
    assert next(r for r in counties if r[0] == "330421")[9] is None
    scorecard_sheet = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert len(scorecard_sheet) == 1 + 7


@pytest.mark.parametrize("url", ["/admin/metrics/export.pdf", "/admin/metrics/export.csv?table=secrets"])
def test_unknown_exports_are_not_found(client, login, url):
    login("admin")
    assert client.get(url).status_code == 404
