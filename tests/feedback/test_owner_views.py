"""Data owners (数源部门) over HTTP: the permission matrix of the owner actions, and the owner's desk.

Each role (the office, a data owner of the dataset's department, a data owner of another department, a county
team member, a judge, a developer, nobody) tries each owner action: decide an access request, answer an error
report, answer a data request naming the department, see the owner's desk.
"""

from __future__ import annotations

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user
from owner_factories import (
    make_access_request,
    make_conditional_dataset,
    make_data_request,
    make_owner,
    make_report,
)
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.catalogue.models import AccessRequest
from portal.extensions import db
from portal.feedback.models import DataRequest, ErrorReport

WHO = ["admin", "owner", "other owner", "county_member", "judge", "developer", None]
ALLOWED = {"admin", "owner"}  # who may act on the department's things


@pytest.fixture
def world(app):
    """Two departments, each with an owner; a conditional dataset of the first with a request and a report."""
    mine, theirs = make_department(title="嘉兴市交通运输局"), make_department(title="嘉兴市教育局")
    dataset = make_conditional_dataset(mine, title="嘉兴市公共停车场泊位")
    world = {
        "department": mine,
        "dataset": dataset,
        "owner": make_owner(mine),
        "other owner": make_owner(theirs),
        "request": make_access_request(dataset),
        "report": make_report(dataset),
        "data request": make_data_request(mine),
    }
    db.session.commit()
    return world


def _sign_in(client, login, world, who):
    """Sign in as `who`: an owner from the world, a new user of a role, or nobody."""
    if who is None:
        return None
    if who in ("owner", "other owner"):
        user = world[who]
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user
    return login(who)


def _denied(response, who) -> bool:
    """Nobody is sent to sign in; a signed-in user without the right gets 403."""
    if who is None:
        return response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
    return response.status_code == 403


@pytest.mark.parametrize("who", WHO)
def test_deciding_an_access_request(client, login, world, who):
    _sign_in(client, login, world, who)
    response = client.post(
        f"/admin/access-requests/{world['request'].id}/decision",
        data={"decision": "approve", "reason": "同意"},
    )
    db.session.expire_all()
    status = db.session.get(AccessRequest, world["request"].id).status
    if who in ALLOWED:
        assert response.status_code == 302
        assert status == "approved"
    else:
        assert _denied(response, who)
        assert status == "pending"


@pytest.mark.parametrize("who", WHO)
def test_answering_an_error_report(client, login, world, who):
    _sign_in(client, login, world, who)
    response = client.post(
        f"/admin/reports/{world['report'].id}/answer", data={"action": "fix", "reply": "已更正第 3 行"}
    )
    db.session.expire_all()
    state = db.session.get(ErrorReport, world["report"].id).state
    if who in ALLOWED:
        assert response.status_code == 302
        assert state == "fixed"
    else:
        assert _denied(response, who)
        assert state == "new"


@pytest.mark.parametrize("who", WHO)
def test_answering_a_data_request_naming_the_department(client, login, world, who):
    _sign_in(client, login, world, who)
    response = client.post(
        f"/requests/{world['data request'].id}/answer", data={"status": "planned", "text": "计划下季度开放"}
    )
    db.session.expire_all()
    status = db.session.get(DataRequest, world["data request"].id).status
    if who in ALLOWED:
        assert response.status_code == 302
        assert status == "planned"
    else:
        assert _denied(response, who)
        assert status == "open"


@pytest.mark.parametrize("who", WHO)
def test_seeing_the_owner_desk(client, login, world, who):
    _sign_in(client, login, world, who)
    response = client.get("/owner/")
    if who in ("owner", "other owner"):  # each owner sees a desk of their own departments
        assert response.status_code == 200
        shown = world["dataset"].title in response.get_data(as_text=True)
        assert shown == (who == "owner")
    else:
        assert _denied(response, who)


def test_an_owners_decision_is_audited_with_before_and_after(client, login, world):
    _sign_in(client, login, world, "owner")
    client.post(
        f"/admin/access-requests/{world['request'].id}/decision",
        data={"decision": "reject", "reason": "用途不明确"},
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access_request.decided"))
    assert event.actor_id == world["owner"].id
    assert event.before == {"status": "pending"}
    assert event.after["status"] == "rejected" and event.after["reason"] == "用途不明确"


def test_an_owners_answer_to_a_report_is_audited(client, login, world):
    _sign_in(client, login, world, "owner")
    client.post(
        f"/admin/reports/{world['report'].id}/answer", data={"action": "acknowledge", "reply": "已收到"}
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.answered"))
    assert event.actor_id == world["owner"].id
    assert (event.before, event.after["state"]) == ({"state": "new"}, "acknowledged")


def test_the_office_steps_in_after_an_owner_and_the_second_decision_is_refused(client, login, world):
    _sign_in(client, login, world, "owner")
    client.post(f"/admin/access-requests/{world['request'].id}/decision", data={"decision": "approve"})
    login("admin")
    response = client.post(
        f"/admin/access-requests/{world['request'].id}/decision",
        data={"decision": "reject", "reason": "撤回"},
    )
    db.session.expire_all()
    assert response.status_code == 302
    assert db.session.get(AccessRequest, world["request"].id).status == "approved"


def test_an_owner_reviews_only_their_departments_requests(client, login, world):
    elsewhere = make_conditional_dataset(make_department(title="嘉兴市民政局"), title="养老机构床位")
    make_access_request(elsewhere)
    db.session.commit()
    _sign_in(client, login, world, "owner")
    page = client.get("/admin/access-requests").get_data(as_text=True)
    assert world["dataset"].title in page
    assert "养老机构床位" not in page


def test_an_owners_reports_desk_lists_only_reports_on_their_datasets(client, login, world):
    make_report(make_dataset(department=make_department(title="嘉兴市民政局"), title="养老机构床位"))
    db.session.commit()
    _sign_in(client, login, world, "owner")
    page = client.get("/admin/reports").get_data(as_text=True)
    assert world["dataset"].title in page
    assert "养老机构床位" not in page


@pytest.mark.parametrize("who", ["county_member", "judge", "developer"])
def test_other_roles_are_refused_the_review_pages(client, login, world, who):
    login(who)
    assert client.get("/admin/access-requests").status_code == 403
    assert client.get("/admin/reports").status_code == 403


def test_the_answer_form_on_a_data_request_shows_to_its_departments_owner_only(client, login, world):
    url = f"/requests/{world['data request'].id}"
    _sign_in(client, login, world, "owner")
    assert 'action="' + url + '/answer"' in client.get(url).get_data(as_text=True)
    _sign_in(client, login, world, "other owner")
    assert url + "/answer" not in client.get(url).get_data(as_text=True)


def test_a_deactivated_owner_decides_nothing(client, login, world):
    world["owner"].active = False
    db.session.commit()
    _sign_in(client, login, world, "owner")
    response = client.post(
        f"/admin/access-requests/{world['request'].id}/decision", data={"decision": "approve"}
    )
    db.session.expire_all()
    assert response.status_code in (302, 403)
    assert db.session.get(AccessRequest, world["request"].id).status == "pending"


def test_the_desk_lists_datasets_with_downloads_and_requests_pending_first(client, login, world):
    dataset = world["dataset"]
    dataset.download_count = 1234
    decided = make_access_request(dataset)
    decided.status = "rejected"
    db.session.commit()
    _sign_in(client, login, world, "owner")
    page = client.get("/owner/").get_data(as_text=True)
    row = page[page.index(f'data-dataset="{dataset.name}"') :]
    row = row[: row.index("</tr>")]
    assert "1,234" in row
    assert [cell.split("<")[0] for cell in row.split("<td>")[2:5]] == ["1,234", "1", "0"]  # pending, approved
    pending, rejected = (
        page.index(f'data-request="{world["request"].id}"'),
        page.index(f'data-request="{decided.id}"'),
    )
    assert pending < rejected
    assert f'data-report="{world["report"].id}"' in page
    assert f'data-data-request="{world["data request"].id}"' in page


def test_the_desk_leaves_out_data_requests_naming_no_or_another_department(client, login, world):
    make_data_request(None)
    other = make_data_request(make_department(title="嘉兴市民政局"))
    db.session.commit()
    _sign_in(client, login, world, "owner")
    page = client.get("/owner/").get_data(as_text=True)
    assert page.count("data-data-request=") == 1
    assert f'data-data-request="{other.id}"' not in page


@pytest.mark.parametrize("query", ["?page=abc", "?page=99999999999999999999", "?per_page=-1"])
def test_the_desk_answers_bad_paging_without_a_server_error(client, login, world, query):
    _sign_in(client, login, world, "owner")
    assert client.get("/owner/" + query).status_code in (200, 400, 404)


def test_a_new_report_is_sent_to_the_departments_owners_and_the_office(client, login, world, app):
    from portal.feedback import permissions

    admin = make_user("admin")
    db.session.commit()
    told = {user.id for user in permissions.answerers(world["report"])}
    assert told == {admin.id, world["owner"].id}
