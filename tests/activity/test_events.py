"""Activity events: recorded per request, with hashed visitor and IP ids, bots flagged."""

from __future__ import annotations

import os
import re

import pytest
from factories import PASSWORD, make_user
from sqlalchemy import func, select

from portal.activity.models import ActivityEvent
from portal.extensions import db


def events(kind: str | None = None) -> list[ActivityEvent]:
    query = select(ActivityEvent).order_by(ActivityEvent.id)
    if kind:
        query = query.where(ActivityEvent.kind == kind)
    return list(db.session.scalars(query))


def test_an_anonymous_page_view_is_recorded_with_a_hashed_visitor_id(client):
    first = client.get("/", headers={"User-Agent": "Mozilla/5.0 Firefox"})
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("vid=")
    client.get("/datasets/", headers={"User-Agent": "Mozilla/5.0 Firefox"})
    views = events("page_view")
    assert [e.path for e in views] == ["/", "/datasets/"]
    assert views[0].visitor_hash == views[1].visitor_hash  # the same browser
    vid = cookie.split(";")[0].split("=")[1]
    assert vid not in views[0].visitor_hash and len(views[0].visitor_hash) == 64
    assert views[0].ip_hash and "127.0.0.1" not in views[0].ip_hash
    assert views[0].user_id is None and views[0].is_bot is False


def test_a_signed_in_users_views_carry_the_user_and_county(client, login):
    member = login("county_member")
    client.get("/", headers={"User-Agent": "Mozilla/5.0"})
    (view,) = events("page_view")
    assert (view.user_id, view.region_id, view.visitor_hash) == (member.id, member.region_id, None)


@pytest.mark.parametrize("agent", ["Googlebot/2.1", "curl/8.0", "python-requests/2.32", ""])
def test_bots_are_flagged(client, agent):
    client.get("/", headers={"User-Agent": agent})
    assert events("page_view")[0].is_bot is True


def test_sign_in_is_recorded_once_and_not_as_a_page_view(client):
    make_user(email="dev@example.cn")
    db.session.commit()
    client.post("/account/sign-in", data={"email": "dev@example.cn", "password": PASSWORD})
    assert [e.kind for e in events()] == ["sign_in"]


def test_errors_redirects_and_static_files_are_not_page_views(client):
    client.get("/no-such-page")
    client.get("/admin/")
    client.get("/static/css/site.css")
    assert db.session.scalar(select(func.count()).select_from(ActivityEvent)) == 0


def test_a_path_holding_a_nul_is_recorded_without_it(app):
    """PostgreSQL keeps no NUL in text: one such row would fail its whole batch at every try."""
    from portal.activity import events as recorder

    with app.test_request_context("/datasets/a%00b"):
        recorder.record("search")
    app.extensions[recorder.BACKLOG].flush()
    assert [e.path for e in events("search")] == ["/datasets/ab"]


def test_new_visitor_ids_are_32_hex_digits_never_repeated():
    from portal.activity import events as activity

    ids = [activity._new_visitor_id() for _ in range(10_000)]  # many blocks of the random source
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_worker_hands_out_none_of_its_parents_visitor_ids():
    """The ids are read from the random source in blocks; a gunicorn worker forked with part of a block
    left must not hand out the ids its parent (or a sibling) hands out next."""
    from portal.activity import events as activity

    activity._new_visitor_id()  # the parent holds the rest of a block
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.write(write, " ".join(activity._new_visitor_id() for _ in range(3)).encode())
        finally:  # never back into the test session, whatever happened
            os._exit(0)
    os.waitpid(child, 0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = set(pipe.read().split())
    assert len(childs) == 3
    assert childs.isdisjoint(activity._new_visitor_id() for _ in range(3))
