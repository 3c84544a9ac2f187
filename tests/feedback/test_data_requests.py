"""Data requests: asking, one vote each, comments, answers, who is told, permissions and the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user

from portal.extensions import db
from portal.feedback import data_requests
from portal.feedback.models import DataRequest, DataRequestVote

NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
ROLES = ["admin", "county_member", "judge", "developer"]


def _ask(title="全市充电桩实时状态", by=None):
    return data_requests.ask(
        by=by or make_user(), title=title, reason="开发充电导航", department=None, now=NOW
    )


def test_asking_counts_the_requesters_vote_and_a_second_vote_is_refused(app):
    asker = make_user()
    request = _ask(by=asker)
    assert request.votes == 1 and request.status == "open"
    other = make_user()
    data_requests.vote(request, by=other, now=NOW)
    assert request.votes == 2
    with pytest.raises(data_requests.RequestError):
        data_requests.vote(request, by=other, now=NOW)
    assert db.session.query(DataRequestVote).count() == 2


@pytest.mark.parametrize(
    ("title", "reason"), [("", "用途"), ("  ", "用途"), ("数据", ""), ("数" * 201, "用途")]
)
def test_empty_or_long_fields_are_refused(app, title, reason):
    with pytest.raises(data_requests.RequestError):
        data_requests.ask(by=make_user(), title=title, reason=reason, department=None, now=NOW)
    assert db.session.query(DataRequest).count() == 0


def test_answers_published_needs_a_published_dataset_and_declined_a_reason(app):
    request, office = _ask(), make_user("admin")
    with pytest.raises(data_requests.RequestError):
        data_requests.answer(request, by=office, status="published", text="", now=NOW)
    with pytest.raises(data_requests.RequestError):
        data_requests.answer(request, by=office, status="declined", text=" ", now=NOW)
    with pytest.raises(data_requests.RequestError):
        data_requests.answer(request, by=office, status="closed", text="x", now=NOW)
    data_requests.answer(request, by=office, status="planned", text="计划下季度开放", now=NOW)
    dataset = make_dataset()
    data_requests.answer(request, by=office, status="published", text="已开放", now=NOW, dataset=dataset)
    assert (request.status, request.dataset_id) == ("published", dataset.id)
    with pytest.raises(data_requests.RequestError):
        data_requests.answer(request, by=office, status="declined", text="不", now=NOW)


def test_the_requester_and_the_voters_are_told_once_each(app):
    asker, voter = make_user(), make_user()
    request = _ask(by=asker)
    data_requests.vote(request, by=voter, now=NOW)
    assert {u.id for u in data_requests.people_to_tell(request)} == {asker.id, voter.id}


@pytest.mark.parametrize("role", [None, *ROLES])
def test_permission_matrix(app, client, login, role):
    request = _ask()
    db.session.commit()
    user = login(role) if role else None
    assert client.get("/requests/").status_code == 200
    assert client.get(f"/requests/{request.id}").status_code == 200
    signed_in = 302 if role else 302  # redirect back to the page, or to sign-in
    assert client.post(f"/requests/{request.id}/vote").status_code == signed_in
    answer = client.post(f"/requests/{request.id}/answer", data={"status": "planned", "text": "计划"})
    assert answer.status_code == {None: 302, "admin": 302}.get(role, 403)
    db.session.expire_all()
    assert db.session.get(DataRequest, request.id).votes == (2 if user else 1)
    assert db.session.get(DataRequest, request.id).status == ("planned" if role == "admin" else "open")


def test_voting_twice_through_the_page_changes_nothing(app, client, login):
    request = _ask()
    db.session.commit()
    login()
    client.post(f"/requests/{request.id}/vote")
    again = client.post(f"/requests/{request.id}/vote", follow_redirects=True)
    assert "您已支持过该需求。" in again.get_data(as_text=True)  # a clear error on the request's page
    db.session.expire_all()
    assert db.session.get(DataRequest, request.id).votes == 2


def test_asking_through_the_page_and_bad_input(app, client, login):
    make_department(name="jx-energy", title="嘉兴市发展和改革委员会")
    db.session.commit()
    assert client.post("/requests/new", data={"title": "a", "reason": "b"}).status_code == 302  # to sign-in
    login()
    assert client.post("/requests/new", data={"title": " ", "reason": "用途"}).status_code == 400
    assert (
        client.post("/requests/new", data={"title": "t", "reason": "r", "department": "nope"}).status_code
        == 400
    )
    response = client.post(
        "/requests/new", data={"title": "公交到站", "reason": "出行", "department": "jx-energy"}
    )
    assert response.status_code == 302 and db.session.query(DataRequest).count() == 1
    asked = db.session.query(DataRequest).one()
    assert client.post(f"/requests/{asked.id}/comments", data={"text": " "}).status_code == 302
    assert client.post(f"/requests/{asked.id}/comments", data={"text": "同需要"}).status_code == 302
    page = client.get(f"/requests/{asked.id}").get_data(as_text=True)
    assert "同需要" in page and page.count('data-comment="') == 1


def test_api_lists_requests_with_votes_and_status(app, client):
    _ask("公交到站")
    second = _ask("充电桩")
    data_requests.vote(second, by=make_user(), now=NOW)
    db.session.commit()
    body = client.get("/api/v1/requests").json
    assert [(r["title"], r["votes"], r["status"]) for r in body["items"]] == [
        ("充电桩", 2, "open"),
        ("公交到站", 1, "open"),
    ]
    assert body["total"] == 2
    assert client.get("/api/v1/requests?status=bogus").status_code == 400
    assert client.get("/api/v1/requests?status=planned").json["total"] == 0
    assert client.get("/api/v1/requests?page=0").status_code == 400


def test_a_vote_sent_twice_at_once_is_refused_not_a_server_error(app, monkeypatch):
    """Both requests see no vote yet; the second insert breaks the primary key (a 500 on PostgreSQL)."""
    request, voter = _ask(), make_user()
    data_requests.vote(request, by=voter, now=NOW)
    db.session.commit()
    monkeypatch.setattr(data_requests, "has_voted", lambda request, user: False)  # checked before the first
    with pytest.raises(data_requests.RequestError):
        data_requests.vote(request, by=voter, now=NOW)
    db.session.commit()
    assert request.votes == 2 and db.session.query(DataRequestVote).count() == 2
