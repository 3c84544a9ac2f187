"""Quality in the JSON API (issue 17 item 4): /api/v1/quality/departments and each dataset's `quality` object
in /api/v1/datasets agree with catalogue/quality.py, and both are in the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from catalogue_factories import make_dataset, make_department

from portal import clock
from portal.api import openapi
from portal.catalogue.quality import LinkCheck
from portal.extensions import db

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


def _setup():
    transport = make_department(name="jx-transport", title="嘉兴市交通运输局")
    late = make_dataset(
        "公交线路",
        name="bus-lines",
        department=transport,
        modified=NOW - timedelta(days=40),
        extras={"update_frequency": "每月"},
        resources=[{"format": "CSV"}, {"format": "PDF"}],
    )
    timely = make_dataset(
        "停车场",
        name="car-parks",
        department=transport,
        modified=NOW - timedelta(days=3),
        extras={"update_frequency": "每周"},
        resources=[{"format": "XLSX"}],
    )
    db.session.add(LinkCheck(resource_id=late.resources[1].id, checked_at=NOW, status=404, broken=True))
    db.session.commit()
    return late, timely


def test_datasets_carry_their_quality(app, client):
    _setup()
    with clock.frozen(NOW):
        body = client.get("/api/v1/datasets?sort=name&per_page=50").get_json()
        one = client.get("/api/v1/datasets/bus-lines").get_json()
    by_name = {d["name"]: d["quality"] for d in body["items"]}
    assert by_name == {
        "bus-lines": {"overdue": True, "openness_stars": 3, "broken_resources": 1, "completeness": 0.4444},
        "car-parks": {"overdue": False, "openness_stars": 2, "broken_resources": 0, "completeness": 0.4444},
    }
    assert one["quality"] == by_name["bus-lines"]


def test_the_department_rows_agree_with_the_datasets(app, client):
    _setup()
    with clock.frozen(NOW):
        response = client.get("/api/v1/quality/departments")
    assert response.status_code == 200
    assert response.get_json() == {
        "departments": [
            {
                "organization": "jx-transport",
                "title": "嘉兴市交通运输局",
                "datasets": 2,
                "overdue": 1,
                "broken_resources": 1,
                "mean_openness_stars": 2.5,
                "mean_completeness": 0.4444,
            }
        ]
    }


def test_the_openapi_document_describes_both(app):
    document = openapi.document(app)
    assert "/api/v1/quality/departments" in document["paths"]
    schemas = document["components"]["schemas"]
    assert set(schemas["DatasetSummary"]["properties"]["quality"]["properties"]) == {
        "overdue",
        "openness_stars",
        "broken_resources",
        "completeness",
    }
    figures = {"datasets", "overdue", "broken_resources", "mean_openness_stars", "mean_completeness"}
    assert {"organization", "title", *figures} <= set(schemas["DepartmentQuality"]["properties"])
    assert "/api/v1/quality/counties" in document["paths"]
    assert {"code", "name", *figures} <= set(schemas["CountyQuality"]["properties"])


def test_the_county_rows_add_up_the_departments(app, client):
    _setup()
    with clock.frozen(NOW):
        counties = client.get("/api/v1/quality/counties").get_json()["counties"]
    nanhu = next(c for c in counties if c["code"] == "330402")  # make_department's default county
    assert {k: nanhu[k] for k in ("datasets", "overdue", "broken_resources", "mean_openness_stars")} == {
        "datasets": 2,
        "overdue": 1,
        "broken_resources": 1,
        "mean_openness_stars": 2.5,
    }
