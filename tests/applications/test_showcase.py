"""The public showcase, the reuses of a dataset, the JSON API, the evidence of use and the demo data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from application_factories import admin, make_application, png, stored_files, team_member
from catalogue_factories import make_dataset
from flask import render_template
from sqlalchemy import func, select

from portal import clock, seeding
from portal.activity.models import ActivityEvent
from portal.applications import demo, evidence, showcase
from portal.applications.models import Application
from portal.extensions import db


def gallery_ids(client, query: str = "") -> list[int]:
    import re

    page = client.get(f"/applications/{query}").get_data(as_text=True)
    return [int(i) for i in re.findall(r'data-application="(\d+)"', page)]


@pytest.fixture
def showcase_data(app):
    office = admin()
    parking = make_application(
        code="330402", status="approved", quarter="2020Q1", domain="jtcx", reviewer=office
    )
    clinic = make_application(
        code="330483", status="approved", quarter="2020Q2", domain="ylws", exemplary=True, reviewer=office
    )
    make_application(code="330483", status="submitted", quarter="2020Q2", domain="ylws")
    db.session.commit()
    return parking, clinic


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["clinic", "parking"]),  # exemplary first
        ("?county=330402", ["parking"]),
        ("?domain=ylws", ["clinic"]),
        ("?quarter=2020Q1", ["parking"]),
        ("?exemplary=1", ["clinic"]),
        ("?county=330402&exemplary=1", []),
        ("?domain=nonsense&quarter=bad", ["clinic", "parking"]),  # a value that cannot be right is ignored
    ],
)
def test_the_gallery_filters_approved_applications(showcase_data, client, query, expected):
    parking, clinic = showcase_data
    names = {parking.id: "parking", clinic.id: "clinic"}
    assert [names[i] for i in gallery_ids(client, query)] == expected


def test_the_reuses_of_a_dataset_are_its_approved_applications_exemplary_first(app):
    dataset = make_dataset("嘉兴市医疗机构名录")
    office = admin()
    plain = make_application(datasets=[dataset], status="approved", reviewer=office)
    shining = make_application(
        code="330411", datasets=[dataset], status="approved", exemplary=True, reviewer=office
    )
    make_application(datasets=[dataset], status="submitted")
    make_application(status="approved", reviewer=office)  # another dataset
    assert showcase.reuses_of(dataset.id) == [shining, plain]
    assert showcase.reuses_of(make_dataset().id) == []


def test_the_reuses_partial_renders_cards_or_an_empty_state(app):
    dataset = make_dataset()
    approved = make_application(datasets=[dataset], status="approved", screenshots=[png()])
    db.session.commit()
    with app.test_request_context("/"):
        html = render_template("applications/_reuses_list.html", reuses=showcase.reuses_of(dataset.id))
        empty = render_template("applications/_reuses_list.html", reuses=[])
    assert f'data-application="{approved.id}"' in html and "/thumbnail" in html
    assert "empty-state" in empty


def test_the_api_lists_approved_applications_with_paging(showcase_data, client):
    parking, clinic = showcase_data
    answer = client.get("/api/v1/applications?per_page=1")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    body = answer.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 1, 2)
    (item,) = body["items"]
    assert item["id"] == clinic.id and item["exemplary"] is True
    assert item["county"] == {"code": "330483", "name": clinic.region.name}
    assert item["datasets"][0]["title"] == clinic.datasets[0].title
    assert item["url"].endswith(f"/applications/{clinic.id}")
    assert client.get("/api/v1/applications?page=2&per_page=1").get_json()["items"][0]["id"] == parking.id
    assert client.get("/api/v1/applications?per_page=1000").get_json()["per_page"] == 100
    assert client.get(f"/api/v1/applications/{parking.id}").get_json()["quarter"] == "2020Q1"


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=x",
        "per_page=-1",
        "domain=sports",
        "quarter=2020Q9",
        "county=南湖",
        "dataset=",
        "dataset=x",
    ],
)
def test_the_api_refuses_bad_parameters_with_a_json_error(app, client, query):
    response = client.get(f"/api/v1/applications?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == 400 and error["message"]


def test_the_api_filters_like_the_gallery(showcase_data, client):
    parking, clinic = showcase_data
    assert [a["id"] for a in client.get("/api/v1/applications?domain=jtcx").get_json()["items"]] == [
        parking.id
    ]
    dataset = clinic.datasets[0]
    assert [
        a["id"] for a in client.get(f"/api/v1/applications?dataset={dataset.id}").get_json()["items"]
    ] == [clinic.id]


def event(kind, *, user, dataset, when):
    db.session.add(
        ActivityEvent(
            kind=kind,
            user_id=user.id if user else None,
            region_id=user.region_id if user else None,
            dataset_id=dataset.id,
            occurred_at=when,
            path="/",
        )
    )


def test_evidence_shows_the_teams_downloads_and_api_calls_of_each_claimed_dataset(app):
    used, unused, elsewhere = make_dataset("公交线路"), make_dataset("停车场"), make_dataset("医院")
    member, colleague, stranger = team_member("330402"), team_member("330402"), team_member("330483")
    application = make_application(by=member, datasets=[used, unused])
    first, last = datetime(2020, 3, 1, tzinfo=UTC), datetime(2020, 4, 2, tzinfo=UTC)
    event("download", user=member, dataset=used, when=first)
    event("api_call", user=colleague, dataset=used, when=last)
    event("api_call", user=colleague, dataset=used, when=datetime(2020, 3, 15, tzinfo=UTC))
    event("download", user=stranger, dataset=unused, when=last)  # another county's team
    event("download", user=None, dataset=unused, when=last)  # a visitor
    event("dataset_view", user=member, dataset=unused, when=last)  # looking is not using
    event("download", user=member, dataset=elsewhere, when=last)  # not claimed
    uses = {u.dataset.title: u for u in evidence.dataset_use(application)}
    assert set(uses) == {"公交线路", "停车场"}
    assert (uses["公交线路"].downloads, uses["公交线路"].api_calls, uses["公交线路"].used) == (1, 2, True)
    assert (uses["公交线路"].first_at, uses["公交线路"].last_at) == (first, last)
    assert (uses["停车场"].used, uses["停车场"].first_at) == (False, None)


def test_evidence_is_on_the_review_page_for_the_office_only(app, client, login):
    member = team_member("330402")
    application = make_application(by=member, status="submitted")
    event("download", user=member, dataset=application.datasets[0], when=datetime(2020, 4, 1, tzinfo=UTC))
    db.session.commit()
    login("admin")
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert f'data-dataset="{application.datasets[0].id}" data-used="1"' in page
    login("county_member", region_code="330402")
    assert 'data-testid="evidence"' not in client.get(f"/applications/{application.id}").get_data(
        as_text=True
    )


def test_demo_applications_cover_every_county_in_mixed_states_and_are_made_once(app):
    seeding.create_demo_accounts()
    for title in ("嘉兴市公交线路", "南湖区停车场", "海宁市医疗机构"):
        make_dataset(title)
    now = datetime(2020, 8, 20, 4, 0, tzinfo=UTC)  # 2020Q3: two past quarters and the current one
    made = demo.seed_demo_applications(now=now)
    applications = db.session.scalars(select(Application)).all()
    assert made == len(applications) > 0
    assert {a.region.code for a in applications} == {
        "330402",
        "330411",
        "330421",
        "330424",
        "330481",
        "330482",
        "330483",
    }
    assert {a.quarter for a in applications} == {"2020Q1", "2020Q2", "2020Q3"}
    assert {a.status for a in applications} == {"draft", "submitted", "approved", "returned"}
    assert any(a.is_exemplary for a in applications)
    assert all(clock.quarter_of(a.created_at) == a.quarter for a in applications)
    assert all(a.screenshots for a in applications if a.status != "draft") and stored_files(app)
    assert demo.seed_demo_applications(now=now) == 0
    assert db.session.scalar(select(func.count()).select_from(Application)) == made


def test_demo_makes_nothing_without_accounts_or_datasets(app):
    assert demo.seed_demo_applications() == 0
