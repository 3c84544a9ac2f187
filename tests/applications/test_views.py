"""The whole workflow on the web: a team registers and submits, the office reviews, the public sees it."""

from __future__ import annotations

import io
import re

from application_factories import make_application, png, stored_files
from catalogue_factories import make_dataset
from factories import make_user
from sqlalchemy import func, select

from portal import clock
from portal.applications.models import Application, ApplicationFile
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notices.models import Notification


def form(datasets, **overrides) -> dict:
    data = {
        "form_token": "token-1",
        "name": "海宁智慧停车",
        "quarter": clock.quarter_of(utcnow()),
        "domain": "jtcx",
        "description": "帮助市民找到空闲停车位。",
        "dataset_ids": [str(d.id) for d in datasets],
        "web_url": "https://park.example.cn/",
        "mini_program": "",
        "zlb_entry": "浙里办·海宁停车",
        "save": "y",
    }
    data.update(overrides)
    return data


def login_as(client, user):
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


def test_the_whole_workflow_from_registration_to_the_showcase(app, client, login):
    dataset = make_dataset("海宁市停车场泊位")
    office = make_user(role="admin")
    member = login("county_member", region_code="330481")
    db.session.commit()
    data = form(
        [dataset], screenshots=[(io.BytesIO(png()), "首页.png"), (io.BytesIO(png(fmt="JPEG")), "b.jpg")]
    )
    response = client.post("/applications/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    application = db.session.scalar(select(Application))
    assert response.headers["Location"].endswith(f"/applications/{application.id}")
    assert (application.status, application.region_id, application.created_by_id) == (
        "draft",
        member.region_id,
        member.id,
    )
    assert [f.content_type for f in application.screenshots] == ["image/png", "image/jpeg"]
    assert all(f.thumbnail_key for f in application.screenshots)
    assert len(stored_files(app)) == 4  # two images and two thumbnails

    assert client.post(f"/applications/{application.id}/submit").status_code == 302
    login_as(client, office)
    page = client.get(f"/applications/{application.id}")
    assert page.status_code == 200 and 'data-testid="evidence"' in page.get_data(as_text=True)
    client.post(f"/applications/{application.id}/return", data={"reason": "请补充数据用途说明"})
    db.session.expire_all()
    assert application.status == "returned"

    login_as(client, member)
    assert "请补充数据用途说明" in client.get(f"/applications/{application.id}").get_data(as_text=True)
    edited = form([dataset], name="海宁智慧停车2.0", submit_for_review="y", save="")
    assert client.post(f"/applications/{application.id}/edit", data=edited).status_code == 302
    db.session.expire_all()
    assert (application.name, application.status) == ("海宁智慧停车2.0", "submitted")

    login_as(client, office)
    client.post(f"/applications/{application.id}/approve")
    client.post(f"/applications/{application.id}/exemplary", data={"exemplary": "1"})
    db.session.expire_all()
    assert (application.status, application.is_exemplary) == ("approved", True)
    assert [t.action for t in application.transitions] == [
        "create",
        "submit",
        "return",
        "resubmit",
        "approve",
        "mark_exemplary",
    ]
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == member.id)).all()
    assert sorted(kinds) == sorted(
        ["application_returned", "application_approved", "application_marked_exemplary"]
    )

    client.get("/")  # anyone, signed out
    with client.session_transaction() as session:
        session.clear()
    gallery = client.get("/applications/?exemplary=1").get_data(as_text=True)
    assert f'data-application="{application.id}"' in gallery
    shown = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "海宁市停车场泊位" in shown and "请补充数据用途说明" not in shown  # the review stays private
    shot = application.screenshots[0]
    image = client.get(f"/applications/{application.id}/files/{shot.id}")
    assert image.status_code == 200 and image.data == png() and image.mimetype == "image/png"
    assert client.get(f"/applications/{application.id}/files/{shot.id}/thumbnail").mimetype == "image/webp"
    listed = client.get("/api/v1/applications").get_json()
    assert [a["id"] for a in listed["items"]] == [application.id]


def test_posting_the_registration_form_twice_stores_one_application(app, client, login):
    login("county_member", region_code="330402")
    dataset = make_dataset()
    db.session.commit()
    data = form([dataset])
    first = client.post("/applications/new", data=data)
    second = client.post("/applications/new", data=form([dataset]))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1


def test_submitting_twice_through_the_web_stores_one_submission(app, client, login):
    member = login("county_member", region_code="330402")
    application = make_application(by=member)
    db.session.commit()
    client.post(f"/applications/{application.id}/submit")
    client.set_cookie("lang", "en")
    again = client.post(f"/applications/{application.id}/submit", follow_redirects=True)
    assert "already submitted" in again.get_data(as_text=True)
    db.session.expire_all()
    assert [t.action for t in application.transitions] == ["create", "submit"]


def test_the_search_button_lists_matching_datasets_without_saving(app, client, login):
    login("county_member", region_code="330402")
    wanted = make_dataset("嘉善县公交站点")
    make_dataset("平湖市学校名录")
    db.session.commit()
    response = client.post("/applications/new", data=form([], dataset_q="公交", find="y", save=""))
    assert response.status_code == 200
    values = re.findall(r'name="dataset_ids" value="(\d+)"', response.get_data(as_text=True))
    assert values == [str(wanted.id)]
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_dataset_choices_answer_json_for_the_picker(app, client, login):
    login("county_member", region_code="330402")
    wanted = make_dataset("嘉善县公交站点")
    db.session.commit()
    items = client.get("/applications/dataset-choices?q=公交").get_json()["items"]
    assert [i["id"] for i in items] == [wanted.id]


def test_an_invalid_form_is_shown_again_with_the_reason(app, client, login):
    login("county_member", region_code="330402")
    dataset = make_dataset()
    db.session.commit()
    client.set_cookie("lang", "en")
    response = client.post("/applications/new", data=form([dataset], web_url="ftp://x"))
    assert response.status_code == 400
    assert "must start with http" in response.get_data(as_text=True)


def test_a_team_member_removes_a_screenshot_of_a_draft(app, client, login):
    member = login("county_member", region_code="330402")
    application = make_application(by=member, screenshots=[png(), png(color="blue")])
    db.session.commit()
    first = application.screenshots[0]
    response = client.post(f"/applications/{application.id}/files/{first.id}/delete")
    assert response.status_code == 302
    remaining = db.session.scalars(select(ApplicationFile.id)).all()
    assert remaining == [application.screenshots[1].id]
    assert len(stored_files(app)) == 2


def test_a_pdf_is_kept_and_a_new_one_replaces_it(app, client, login):
    member = login("county_member", region_code="330402")
    application = make_application(by=member)
    db.session.commit()
    for name in ("说明.pdf", "说明v2.pdf"):
        data = form(application.datasets, pdf=(io.BytesIO(b"%PDF-1.7\n%%EOF\n"), name))
        assert client.post(f"/applications/{application.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert application.pdf.filename == "说明v2.pdf"
    assert [f.kind for f in application.files] == ["pdf"]
    assert len(stored_files(app)) == 1


def test_the_notification_count_shows_in_the_account_menu(app, client, login):
    member = login("county_member", region_code="330402")
    make_application(by=member, status="approved")
    db.session.commit()
    page = client.get("/applications/team").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count"[^>]*>1<', page)
    assert client.get("/applications/notifications").status_code == 200
    client.post("/applications/notifications/read")
    assert 'data-testid="unread-count"' not in client.get("/applications/team").get_data(as_text=True)


def test_the_team_workspace_shows_the_quarter_standing(app, client, login):
    login("county_member", region_code="330402")
    page = client.get("/applications/team").get_data(as_text=True)
    assert 'data-testid="standing"' in page


def test_the_office_sees_how_many_await_review(app, client, login):
    make_application(status="submitted")
    db.session.commit()
    login("admin")
    page = client.get("/applications/team?status=submitted").get_data(as_text=True)
    assert 'data-testid="awaiting"' in page and page.count("data-application=") == 1


def test_empty_gallery_shows_an_empty_state(client):
    page = client.get("/applications/")
    assert page.status_code == 200 and "empty-state" in page.get_data(as_text=True)
