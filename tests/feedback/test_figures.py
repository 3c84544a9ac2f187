"""Report figures: the arithmetic, and the same figures on /stats/, the admin dashboard and the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user

from portal import clock
from portal.extensions import db
from portal.feedback import data_requests, figures, reports

FILED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday morning in Jiaxing


@pytest.mark.parametrize(
    ("reports_", "fixed", "rejected", "rate"),
    [(4, 1, 2, 0.5), (2, 0, 2, None), (0, 0, 0, None), (3, 3, 0, 1.0)],
)
def test_rectification_rate_is_fixed_over_reports_less_rejected(reports_, fixed, rejected, rate):
    assert figures.rectification_rate(reports_, fixed, rejected) == rate


def _three_reports():
    department = make_department(name="jx-water", title="嘉兴市水利局")
    dataset = make_dataset(department=department)
    office = make_user("admin")
    filed = [
        reports.file_report(dataset, by=make_user(), kind="outdated", text="过期", now=FILED, working_days=5)
        for _ in range(3)
    ]
    reports.fix(filed[0], by=office, reply="已更新", now=FILED + timedelta(hours=2))
    reports.reject(filed[1], by=office, reply="无误", now=FILED + timedelta(hours=6))
    db.session.commit()
    return department


def test_summary_counts_overdue_and_the_median_reply(app):
    department = _three_reports()
    summary = figures.summary(now=FILED + timedelta(days=30), year=2026)
    row = next(r for r in summary["departments"] if r["organization"] == "jx-water")
    assert (row["reports"], row["fixed"], row["rejected"], row["overdue"]) == (3, 1, 1, 1)
    assert row["rectification_rate"] == 0.5 and row["median_reply_hours"] == 4.0
    county = next(r for r in summary["counties"] if r["code"] == department.region.code)
    assert county["reports"] == 3
    assert figures.summary(now=FILED, year=2025)["total"]["reports"] == 0


def _rows(html: str, key: str) -> dict[str, dict[str, str]]:
    table = re.search(rf'data-testid="feedback-{key}".*?</table>', html, flags=re.S).group(0)
    found = {}
    for attrs in re.findall(r"<tr (data-row=[^>]*)>", table):
        values = dict(re.findall(r'data-(\w+)="([^"]*)"', attrs))
        found[values.pop("row")] = values
    return found


def _as_page(row: dict) -> dict[str, str]:
    def text(value):
        return "" if value is None else str(value)

    return {
        "reports": text(row["reports"]),
        "fixed": text(row["fixed"]),
        "rejected": text(row["rejected"]),
        "overdue": text(row["overdue"]),
        "rate": text(row["rectification_rate"]),
        "median": text(row["median_reply_hours"]),
        "overdue_datasets": text(row["overdue_datasets"]),
        "requests": text(row["requests"]),
        "requests_answered": text(row["requests_answered"]),
    }


def test_the_pages_and_the_api_show_the_same_figures(app, client, login):
    _three_reports()
    with clock.frozen(FILED + timedelta(days=30)):
        api = client.get("/api/v1/feedback/summary?year=2026").json
        public = client.get("/stats/?year=2026").get_data(as_text=True)
        login("admin")
        board = client.get("/admin/metrics/?year=2026").get_data(as_text=True)
    for html in (public, board):
        departments, counties = _rows(html, "organization"), _rows(html, "code")
        assert departments == {r["organization"]: _as_page(r) for r in api["departments"]}
        assert counties == {r["code"]: _as_page(r) for r in api["counties"]}
    assert departments["jx-water"]["reports"] == "3"


def _requests_and_overdue():
    """jx-water: two requests naming it asked in 2026 (one answered), one in 2025; one asked of no department;
    two published datasets, one overdue (monthly, last updated 40 days before FILED)."""
    water = make_department(name="jx-water", title="嘉兴市水利局")
    make_dataset(
        "河道水位", department=water, modified=FILED - timedelta(days=40), extras={"update_frequency": "每月"}
    )
    make_dataset(
        "水库名录", department=water, modified=FILED - timedelta(days=3), extras={"update_frequency": "每月"}
    )
    office, asker = make_user("admin"), make_user()
    ask = [
        data_requests.ask(by=asker, title=t, reason="研究", department=d, now=when)
        for t, d, when in [
            ("水质监测", water, FILED),
            ("雨量站", water, FILED + timedelta(days=1)),
            ("旧闸门", water, FILED - timedelta(days=200)),
            ("全市公厕", None, FILED),
        ]
    ]
    data_requests.answer(
        ask[0], by=office, status="planned", text="已列入计划", now=FILED + timedelta(days=2)
    )
    data_requests.answer(ask[3], by=office, status="declined", text="暂无", now=FILED + timedelta(days=2))
    db.session.commit()
    return water


def test_the_summary_counts_overdue_datasets_and_the_requests_of_the_year(app):
    water = _requests_and_overdue()
    summary = figures.summary(now=FILED + timedelta(days=5), year=2026)
    row = next(r for r in summary["departments"] if r["organization"] == "jx-water")
    assert (row["overdue_datasets"], row["requests"], row["requests_answered"]) == (1, 2, 1)
    county = next(r for r in summary["counties"] if r["code"] == water.region.code)
    assert (county["overdue_datasets"], county["requests"], county["requests_answered"]) == (1, 2, 1)
    total = summary["total"]
    assert (total["overdue_datasets"], total["requests"], total["requests_answered"]) == (1, 3, 2)
    every_year = figures.summary(now=FILED + timedelta(days=5))
    assert (every_year["total"]["requests"], every_year["departments"][0]["requests"]) == (4, 3)


def test_overdue_datasets_agree_with_the_quality_board_and_requests_with_their_api(app, client, login):
    _requests_and_overdue()
    with clock.frozen(FILED + timedelta(days=5)):
        summary = client.get("/api/v1/feedback/summary?year=2026").json
        quality = client.get("/api/v1/quality/departments").json["departments"]
        counties = client.get("/api/v1/quality/counties").json["counties"]
        asked = client.get("/api/v1/requests?per_page=100").json["items"]
        public = client.get("/stats/?year=2026").get_data(as_text=True)
    assert {r["organization"]: r["overdue"] for r in quality} == {
        r["organization"]: r["overdue_datasets"] for r in summary["departments"]
    }
    board = {r["code"]: r["overdue"] for r in counties}  # every region; the summary's, those with departments
    assert {r["code"]: board.pop(r["code"]) for r in summary["counties"]} == {
        r["code"]: r["overdue_datasets"] for r in summary["counties"]
    }
    assert not any(board.values())
    of_2026 = [r for r in asked if r["created_at"].startswith("2026") and r["organization"] == "jx-water"]
    row = _rows(public, "organization")["jx-water"]
    assert row["requests"] == str(len(of_2026)) == "2"
    assert row["requests_answered"] == str(sum(r["status"] != "open" for r in of_2026)) == "1"
    assert row["overdue_datasets"] == "1"


def test_the_methodology_page_explains_the_rate(app, client):
    page = client.get("/stats/methodology").get_data(as_text=True)
    assert "整改率" in page or "Rectification rate" in page
    assert 'data-methodology="overdue-datasets"' in page and 'data-methodology="requests"' in page
