"""The quality board (issue 17 item 4): /stats/quality and /admin/metrics/quality show the same figures as
/api/v1/quality/departments and /quality/counties, with a trend from the daily snapshots, CSV and XLSX
exports, a 400 for a hostile query and the office's page for admins only."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from catalogue_factories import make_dataset, make_department
from ckanserver import serve
from openpyxl import load_workbook
from sqlalchemy import Engine, event, insert, select
from sync_factories import fake_ckan

from portal import clock
from portal.accounts.models import ADMIN, ROLES
from portal.catalogue.models import Dataset, Resource
from portal.catalogue.quality import LinkCheck
from portal.extensions import db
from portal.metrics import quality_trends
from portal.sync import remote, run

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


@pytest.fixture
def catalogue(app):
    """Two departments in 南湖区 and one of the city: overdue, broken and incomplete datasets among them."""
    transport = make_department(name="nh-transport", title="南湖区交通运输局", region_code="330402")
    health = make_department(name="nh-health", title="南湖区卫生健康局", region_code="330402")
    city = make_department(name="jx-data", title="=嘉兴市数据局", region_code="330400")
    late = make_dataset(
        "公交线路", department=transport, modified=NOW - timedelta(days=40),
        extras={"update_frequency": "每月", "spatial_coverage": "南湖区"},
        tags=["公交"], resources=[{"format": "CSV"}, {"format": "PDF"}],
    )  # fmt: skip
    make_dataset(
        "医院名录", department=health, modified=NOW - timedelta(days=2), resources=[{"format": "XLSX"}]
    )
    make_dataset(
        "数据目录", department=city, modified=NOW - timedelta(days=10), extras={"update_frequency": "每年"},
        resources=[{"format": "TTL"}],
    )  # fmt: skip
    make_dataset("已撤回", department=city, state="withdrawn")
    db.session.add(LinkCheck(resource_id=late.resources[1].id, checked_at=NOW, status=404, broken=True))
    db.session.commit()
    return late


def rows_of(html: str, testid: str) -> dict[str, dict[str, str]]:
    """Read a board table: its row key → figure → the exact value in the row's data-* attributes."""
    body = re.search(rf'data-testid="{testid}"(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr data-(?:row|day)="([^"]+)"([^>]*)>', body)
    return {key: dict(re.findall(r'data-(\w+)="([^"]*)"', attrs)) for key, attrs in rows}


def as_api(figures: dict[str, str]) -> dict:
    """Page figures in the API's names and types."""
    return {
        "datasets": int(figures["datasets"]),
        "overdue": int(figures["overdue"]),
        "broken_resources": int(figures["broken"]),
        "mean_openness_stars": float(figures["stars"]) if figures["stars"] else None,
        "mean_completeness": float(figures["completeness"]) if figures["completeness"] else None,
    }


def _figures(row: dict) -> dict:
    return {
        k: row[k]
        for k in ("datasets", "overdue", "broken_resources", "mean_openness_stars", "mean_completeness")
    }


def test_the_board_and_the_api_agree(client, login, catalogue):
    with clock.frozen(NOW):
        public = client.get("/stats/quality").get_data(as_text=True)
        departments = client.get("/api/v1/quality/departments").get_json()["departments"]
        counties = client.get("/api/v1/quality/counties").get_json()["counties"]
        login("admin")
        office = client.get("/admin/metrics/quality").get_data(as_text=True)
    assert {d["organization"]: d["overdue"] for d in departments} == {
        "jx-data": 0,
        "nh-health": 0,
        "nh-transport": 1,
    }
    for html in (public, office):
        page_departments = rows_of(html, "quality-departments")
        assert {k: as_api(v) for k, v in page_departments.items()} == {
            d["organization"]: _figures(d) for d in departments
        }
        page_counties = rows_of(html, "quality-counties")
        assert {k: as_api(v) for k, v in page_counties.items()} == {c["code"]: _figures(c) for c in counties}
    nanhu = next(c for c in counties if c["code"] == "330402")
    assert (nanhu["datasets"], nanhu["overdue"], nanhu["broken_resources"]) == (2, 1, 1)
    assert nanhu["mean_openness_stars"] == 2.5  # CSV 3 and XLSX 2


def test_the_trend_reads_the_daily_snapshots(client, catalogue):
    for days_ago in (2, 1, 0):
        quality_trends.take(clock.day_of(NOW) - timedelta(days=days_ago), NOW)
    db.session.commit()
    with clock.frozen(NOW):
        html = client.get("/stats/quality?days=7&county=330402").get_data(as_text=True)
        whole = client.get("/stats/quality").get_data(as_text=True)
    trend = rows_of(html, "quality-trend")
    assert len(trend) == 3
    assert {as_api(v)["datasets"] for v in trend.values()} == {2}  # 南湖区's two departments
    assert {as_api(v)["datasets"] for v in rows_of(whole, "quality-trend").values()} == {3}
    assert 'id="chart-quality"' in html and "<svg" in html


def test_exports_carry_the_board_tables(client, catalogue):
    with clock.frozen(NOW):
        response = client.get("/stats/quality/export.csv?table=departments")
        book = client.get("/stats/quality/export.xlsx")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["nh-transport"][2:5] == ["1", "1", "1"]
    assert by_name["jx-data"][1] == "'=嘉兴市数据局"  # a title that looks like a formula is defused
    workbook = load_workbook(io.BytesIO(book.get_data()))
    assert len(workbook.sheetnames) == 3
    sheet = workbook[workbook.sheetnames[0]]
    values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["nh-transport"][5] == 3.0 and isinstance(values["nh-transport"][6], float)


@pytest.mark.parametrize(
    "query",
    ["days=0", "days=abc", "days=100000000000000000000", "days=6", "days=367", "county=999999", "county=%00"],
)
def test_a_hostile_query_gets_400(client, catalogue, query):
    assert client.get(f"/stats/quality?{query}").status_code == 400
    assert client.get(f"/stats/quality/export.csv?{query}").status_code == 400


@pytest.mark.parametrize("path", ["/stats/quality/export.pdf", "/stats/quality/export.csv?table=users"])
def test_an_unknown_export_gets_404(client, catalogue, path):
    assert client.get(path).status_code == 404


OTHER_ROLES = [role for role in ROLES if role != ADMIN]


@pytest.mark.parametrize(
    ("role", "status"), [(None, 302), *((role, 403) for role in OTHER_ROLES), (ADMIN, 200)]
)
def test_only_the_office_sees_its_board(client, login, catalogue, role, status):
    if role:
        login(role)
    response = client.get("/admin/metrics/quality")
    assert response.status_code == status
    if status == 200:
        assert 'data-testid="broken-resources"' in response.get_data(as_text=True)
    assert client.get("/stats/quality").status_code == 200  # the public board, for everyone


@pytest.mark.parametrize(
    ("department", "rows", "broken"), [("nh-transport", ["nh-transport"], 1), ("nh-health", ["nh-health"], 0)]
)
def test_a_data_owner_sees_the_board_of_their_departments_only(client, catalogue, department, rows, broken):
    from owner_factories import make_owner

    from portal.catalogue.models import Department

    owner = make_owner(db.session.scalar(select(Department).where(Department.name == department)))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = owner.get_id()
        session["_fresh"] = True
    with clock.frozen(NOW):
        html = client.get("/admin/metrics/quality").get_data(as_text=True)
    assert list(rows_of(html, "quality-departments")) == rows
    assert html.count("<tr data-resource=") == broken  # the broken resources of their datasets only
    assert 'href="/admin/metrics/quality#broken"' in client.get("/owner/").get_data(as_text=True)


def test_the_methodology_page_lists_the_completeness_fields(client, app):
    html = client.get("/stats/methodology").get_data(as_text=True)
    assert 'id="quality"' in html
    assert len(re.findall(r'data-completeness-field="\w+"', html)) == 9


def test_the_statistics_pages_link_to_the_board(client, login, city):
    assert 'href="/stats/quality"' in client.get("/stats/?year=2025").get_data(as_text=True)
    login(ADMIN)
    assert 'href="/admin/metrics/quality"' in client.get("/admin/metrics/?year=2025").get_data(as_text=True)


# -- Cost per request (issue 20): a cached answer reads no dataset, whatever the catalogue's size ---------


def _bulk(department, start: int, count: int) -> None:
    """Write `count` published datasets with a resource each in two statements, as the sync writes in bulk."""
    names = [f"bulk-{n}" for n in range(start, start + count)]
    db.session.execute(
        insert(Dataset),
        [
            {
                "ckan_id": f"bulk-{name}",
                "name": name,
                "title": f"批量数据 {name}",
                "department_id": department.id,
                "metadata_modified": NOW - timedelta(days=int(name[5:]) % 60),
                "extras": {"update_frequency": "每月"},
            }
            for name in names
        ],
    )
    ids = db.session.scalars(select(Dataset.id).where(Dataset.name.in_(names)))
    db.session.execute(
        insert(Resource), [{"ckan_id": f"r-{i}", "dataset_id": i, "format": "CSV"} for i in ids]
    )
    db.session.commit()


def _statements(client, path: str) -> tuple[list[str], object]:
    """The statements the request for `path` runs in this thread (activity events aside), and its answer."""
    seen: list[str] = []
    me = threading.get_ident()

    def record(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == me and "activity_events" not in statement:  # the backlog's, when full
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        response = client.get(path)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return seen, response


@pytest.mark.parametrize(
    ("path", "datasets_in"),
    [
        ("/stats/quality", lambda r: int(rows_of(r.text, "quality-departments")["jx-bulk"]["datasets"])),
        ("/stats/quality/export.csv", lambda r: int(r.text.splitlines()[1].split(",")[2])),
        ("/api/v1/quality/departments", lambda r: r.get_json()["departments"][0]["datasets"]),
        ("/api/v1/quality/counties", lambda r: r.get_json()["counties"][1]["datasets"]),
    ],
)  # fmt: skip
def test_a_cached_answer_costs_the_same_statements_at_100_and_2000_datasets(app, client, path, datasets_in):
    department = make_department(name="jx-bulk", title="批量局", region_code="330402")
    _bulk(department, 0, 100)
    with clock.frozen(NOW):
        client.get(path)  # measures the catalogue once; later requests reuse it
        small, answer = _statements(client, path)
        assert datasets_in(answer) == 100
        _bulk(department, 100, 1900)
        first, answer = _statements(client, path)  # the catalogue changed: measured anew, at once
        assert datasets_in(answer) == 2000
        large, answer = _statements(client, path)
    assert len(large) == len(small) < len(first)
    read = [s for s in small + large if re.search(r"\b(FROM|JOIN) (datasets|resources|dataset_tags)\b", s)]
    assert read and all(s.startswith("SELECT (SELECT max(id) FROM datasets)") for s in read)  # the stamp
    assert datasets_in(answer) == 2000


def test_the_board_and_the_api_show_what_the_sync_changed_at_once(app, client):
    fake = fake_ckan(3)  # dataset-001 of tongxiang-wjj, 002 of jx-xinban, 003 of haining-jtj; CSV each
    with serve(fake) as url:
        run.sync(remote.CkanSource(url, timeout=5, retries=1, backoff=0), run.Settings())
        before = client.get("/api/v1/quality/departments").get_json()["departments"]  # measured and cached
        fake.delete_package("dataset-001")
        ttl = {"id": "10000000-0000-4000-8000-000000000002", "name": "本体", "format": "TTL", "url": ""}
        fake.update_package("dataset-002", resources=[ttl])
        run.sync(remote.CkanSource(url, timeout=5, retries=1, backoff=0), run.Settings(full=True))
    assert {d["organization"]: d["mean_openness_stars"] for d in before} == {
        "haining-jtj": 3.0,
        "jx-xinban": 3.0,
        "tongxiang-wjj": 3.0,
    }
    after = client.get("/api/v1/quality/departments").get_json()["departments"]
    assert {d["organization"]: d["mean_openness_stars"] for d in after} == {
        "haining-jtj": 3.0,
        "jx-xinban": 4.0,
    }
    page = rows_of(client.get("/stats/quality").text, "quality-departments")
    assert {k: as_api(v) for k, v in page.items()} == {d["organization"]: _figures(d) for d in after}
