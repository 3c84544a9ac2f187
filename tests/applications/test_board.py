"""The quarter board counts each county's applications per quarter; its exports read back the same."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from application_factories import admin, make_application, team_member
from openpyxl import load_workbook

from portal.applications import board
from portal.extensions import db

NOW = datetime(2020, 5, 15, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
IN_Q1 = datetime(2020, 3, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # filed on time for 2020Q1
COUNTIES = ["330402", "330411", "330421", "330424", "330481", "330482", "330483"]


@pytest.fixture
def made(app):
    """Hand-made applications of 2020 (and one of 2019 that must not count)."""
    office = admin()
    members = {code: team_member(code) for code in COUNTIES}

    def make(code, quarter, status, exemplary=False, when=NOW):
        make_application(
            code=code,
            by=members[code],
            quarter=quarter,
            status=status,
            exemplary=exemplary,
            reviewer=office,
            now=when,
        )

    make("330402", "2020Q1", "approved", exemplary=True, when=IN_Q1)
    make("330402", "2020Q1", "approved", when=IN_Q1)
    make("330402", "2020Q2", "submitted")
    make("330402", "2020Q2", "draft")
    make("330411", "2020Q1", "returned", when=IN_Q1)
    make("330411", "2020Q2", "approved", exemplary=True)
    make("330421", "2020Q2", "approved")
    make("330421", "2020Q2", "submitted")
    make("330402", "2019Q4", "approved", exemplary=True, when=datetime(2019, 11, 1, tzinfo=UTC))
    db.session.commit()


def cells(result: board.Board) -> dict[tuple[str, str], tuple[int, int, str]]:
    return {
        (r.county.code, c.quarter): (c.approved, c.submitted, c.state) for r in result.rows for c in r.cells
    }


def test_the_board_counts_approved_and_submitted_by_county_and_quarter(made):
    result = board.quarter_board(2020, now=NOW)
    got = cells(result)
    assert sorted(r.county.code for r in result.rows) == COUNTIES  # in the seeds' order
    assert got[("330402", "2020Q1")] == (2, 0, "met")
    assert got[("330402", "2020Q2")] == (0, 1, "pending")  # the draft does not count
    assert got[("330411", "2020Q1")] == (0, 0, "behind")  # returned does not count
    assert got[("330411", "2020Q2")] == (1, 0, "met")
    assert got[("330421", "2020Q2")] == (1, 1, "met")
    assert got[("330424", "2020Q2")] == (0, 0, "missing")
    assert got[("330424", "2020Q1")] == (0, 0, "behind")
    assert got[("330402", "2020Q3")] == (0, 0, "future")
    assert sum(a + s for a, s, _ in got.values()) == 6  # four approved, two awaiting review


def test_the_board_lists_the_current_quarters_missing_counties_and_days_left(made):
    result = board.quarter_board(2020, now=NOW)
    assert result.current_quarter == "2020Q2"
    assert result.days_left == 47  # 15 May to 30 June, both included
    assert sorted(c.code for c in result.missing) == ["330402", "330424", "330481", "330482", "330483"]


def test_the_exemplary_count_is_of_the_year_only(made):
    result = board.quarter_board(2020, now=NOW)
    assert (result.exemplary, result.exemplary_target, result.exemplary_met) == (2, 5, False)
    assert board.quarter_board(2019, now=NOW).exemplary == 1


def test_a_past_year_has_no_current_quarter(made):
    result = board.quarter_board(2019, now=NOW)
    assert (result.current_quarter, result.days_left, result.missing) == (None, None, [])
    assert cells(result)[("330402", "2019Q4")] == (1, 0, "met")


def test_years_offer_those_with_applications_and_the_current_one(made):
    assert board.years(now=NOW) == [2020, 2019]
    assert board.years(now=datetime(2021, 1, 5, tzinfo=UTC)) == [2021, 2020, 2019]


def test_build_is_pure_and_totals_each_row():
    counties = [board.County(1, "330402", "南湖区"), board.County(2, "330411", "秀洲区")]
    counts = {(1, "2020Q1"): (1, 2), (1, "2020Q2"): (3, 0), (2, "2020Q2"): (0, 4)}
    result = board.build(2020, counties, counts, exemplary=5, now=NOW)
    first, second = result.rows
    assert (first.approved, first.submitted, first.quarters_met) == (4, 2, 2)
    assert (second.approved, second.submitted, second.quarters_met) == (0, 4, 0)
    assert [c.state for c in second.cells] == ["behind", "pending", "future", "future"]
    assert result.exemplary_met and [c.code for c in result.missing] == ["330411"]


def test_the_board_page_marks_each_cell(made, client, login):
    login("admin")
    page = client.get("/applications/board?year=2020").get_data(as_text=True)
    assert 'data-quarter="2020Q1" data-approved="2" data-submitted="0" data-state="met"' in page
    assert 'data-quarter="2020Q2" data-approved="1" data-submitted="1" data-state="met"' in page


def test_the_csv_export_reads_back(made, client, login):
    login("county_member")
    client.set_cookie("lang", "en")
    response = client.get("/applications/board.csv?year=2020")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="quarter-board-2020.csv"'
    assert response.data.startswith(b"\xef\xbb\xbf")  # so that Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["County code", "County", "2020Q1 approved", "2020Q1 submitted", "2020Q1 quota met"]
    assert rows[0][-2:] == ["Approved in the year", "Quarters met"]
    by_code = {row[0]: row for row in rows[1:]}
    assert len(by_code) == 7
    assert by_code["330402"][1] == "南湖区"
    assert by_code["330402"][2:10] == ["2", "0", "yes", "0", "0", "1", "no", "0"]
    assert by_code["330421"][-2:] == ["1", "1"]


def test_the_xlsx_export_reads_back(made, client, login):
    login("admin")
    client.set_cookie("lang", "en")
    response = client.get("/applications/board.xlsx?year=2020")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    grid = list(workbook["2020"].iter_rows(values_only=True))
    assert grid[0][:3] == ("County code", "County", "2020Q1 approved")
    by_code = {row[0]: row for row in grid[1:]}
    assert by_code["330411"][2:10] == (0, 0, "no", 0, 1, 0, "yes", 0)
    summary = dict(workbook["Summary"].iter_rows(values_only=True))
    assert summary == {"Year": 2020, "Exemplary applications": 2, "Exemplary target": 5}


def test_an_unknown_export_format_is_not_found(app, client, login):
    login("admin")
    assert client.get("/applications/board.pdf").status_code == 404
    assert client.get("/applications/board?year=1066").status_code == 404
