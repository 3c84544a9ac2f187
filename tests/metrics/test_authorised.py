"""Authorised data volume (授权数据量, issue 15 item 5): conditional datasets granted by access requests
approved in the year, by the requester's county (the city only without one), with each dataset's volume
as the catalogue measures it; shown on /stats/, the office's dashboard and exports, the API and the
methodology page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from catalogue_factories import make_dataset
from factories import make_user

from portal import clock
from portal.catalogue import access
from portal.catalogue.models import APPROVED, CONDITIONAL, REJECTED, AccessRequest
from portal.extensions import db
from portal.metrics import authorised, indicators

IN_2025 = datetime(2025, 6, 1, 4, tzinfo=UTC)
NOW = datetime(2025, 12, 20, 4, tzinfo=UTC)  # within 2025: the catalogue is measured live
XIUZHOU = "330411"
PURPOSE = "用于交通出行研究与线路优化分析"


def grant(user, dataset, *, at=IN_2025, status=APPROVED) -> AccessRequest:
    """An access request decided at `at`, written as the workflow leaves it."""
    row = AccessRequest(user_id=user.id, dataset_id=dataset.id, purpose=PURPOSE, status=status,
                        decision_reason="", decided_at=at, created_at=at)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def grants(app):
    """A developer granted a measured dataset (500, a duplicate file not counted) through the workflow, and
    again for the same dataset; a county member of Xiuzhou granted another (30) and an unmeasured one;
    refusals, pending requests, other years and unconditional datasets that must not count."""
    office = make_user("admin")
    developer = make_user("developer")
    member = make_user("county_member", region_code=XIUZHOU)
    buses = make_dataset(
        "嘉兴市公交线路客流",
        open_condition=CONDITIONAL,
        resources=[
            {"format": "CSV", "records": 100, "fields": 5},
            {"format": "CSV", "records": 100, "fields": 5, "invalid_reason": "duplicate"},
        ],
    )
    clinics = make_dataset(
        "秀洲区诊所", open_condition=CONDITIONAL, resources=[{"format": "CSV", "records": 10, "fields": 3}]
    )
    unmeasured = make_dataset("秀洲区企业名录", open_condition=CONDITIONAL, resources=[{"format": "PDF"}])
    opened = make_dataset("南湖区公厕", resources=[{"format": "CSV", "records": 7, "fields": 7}])
    with clock.frozen(IN_2025):
        asked = access.request_access(developer, buses, PURPOSE)
        access.decide(asked, approve=True, reason="", by=office)
    grant(developer, buses, at=datetime(2025, 9, 1, tzinfo=UTC))  # the same grant again: counts once
    grant(member, clinics)
    grant(member, unmeasured)
    grant(member, opened)  # a dataset that needs no grant
    grant(developer, clinics, status=REJECTED)
    grant(developer, unmeasured, at=None, status="pending")
    grant(member, buses, at=datetime(2024, 12, 31, 15, 59, tzinfo=UTC))  # 2024-12-31 23:59 in Shanghai
    grant(developer, clinics, at=datetime(2025, 12, 31, 16, 0, tzinfo=UTC))  # 2026-01-01 in Shanghai
    db.session.commit()
    return member


def test_grants_count_per_requesters_county_with_the_datasets_volume(grants):
    found = authorised.of_year(2025)
    assert found == {
        None: authorised.Authorised(grants=1, volume=500),
        grants.region_id: authorised.Authorised(grants=2, volume=30),
    }
    assert authorised.of_year(2024) == {grants.region_id: authorised.Authorised(grants=1, volume=500)}
    assert authorised.of_year(2026) == {None: authorised.Authorised(grants=1, volume=30)}


def test_the_city_covers_every_grant_and_a_county_its_own(grants):
    report = indicators.report(2025, now=NOW)
    by_code = {f.code: f for f in report.regions}
    assert (report.city.authorised_grants, report.city.authorised_volume) == (3, 530)
    assert (by_code[XIUZHOU].authorised_grants, by_code[XIUZHOU].authorised_volume) == (2, 30)
    assert by_code["330402"].authorised_volume == 0
    ranked = indicators.sort_counties(report.counties, "authorised_volume", descending=True)
    assert ranked[0].code == XIUZHOU


def test_pages_api_and_exports_show_it(client, login, grants):
    with clock.frozen(NOW):
        stats = client.get("/stats/?year=2025").get_data(as_text=True)
        assert 'data-figure="authorised_volume" data-value="530"' in stats
        methodology = client.get("/stats/methodology?year=2025").get_data(as_text=True)
        assert 'id="authorised-volume"' in methodology
        items = client.get("/api/v1/metrics/counties?year=2025").get_json()["items"]
        by_code = {i["code"]: i for i in items}
        assert (by_code["330400"]["authorised_volume"], by_code[XIUZHOU]["authorised_grants"]) == (530, 2)
        login("admin")
        dashboard = client.get("/admin/metrics/?year=2025").get_data(as_text=True)
        assert 'data-key="authorised_volume"' in dashboard
        exported = client.get("/admin/metrics/export.csv?year=2025&table=counties").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    city = next(r for r in rows if r[0] == "330400")
    assert city[-2:] == ["3", "530"]
