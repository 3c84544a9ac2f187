"""The office's audit log page (issue 15 item 4): admins only, filters by who, what, object and
when, CSV and XLSX exports of what the filters select; bad input answers 400/404, never 500."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from factories import make_user
from openpyxl import load_workbook

from portal import clock
from portal.audit import log
from portal.extensions import db


@pytest.fixture
def rows(app):
    office = make_user("admin", email="office@example.cn")
    dev = make_user(email="dev@example.cn")
    log.record(db.session, "user.signed_in", actor=dev, object_type="user", object_id=dev.id)
    with clock.frozen(clock.now() - timedelta(days=10)):
        log.record(db.session, "token.created", actor=dev, object_type="api_token", object_id=7)
    log.record(
        db.session,
        "access_request.decided",
        actor=office,
        object_type="access_request",
        object_id=3,
        after={"status": "approved", "reason": '=HYPERLINK("x")'},
    )
    db.session.commit()


@pytest.mark.parametrize(
    "role, status", [(None, 302), ("developer", 403), ("judge", 403), ("county_member", 403)]
)
def test_only_admins_see_the_log_and_its_exports(app, client, login, rows, role, status):
    if role:
        login(role)
    for path in ("/admin/audit/", "/admin/audit/export.csv", "/admin/audit/export.xlsx"):
        assert client.get(path).status_code == status


def test_filters(app, client, login, rows):
    login("admin")
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert page.count("data-event=") == 3
    assert client.get("/admin/audit/?who=dev@").get_data(as_text=True).count("data-event=") == 2
    assert client.get("/admin/audit/?what=token.").get_data(as_text=True).count("data-event=") == 1
    by_object = client.get("/admin/audit/?object_type=access_request&object_id=3").get_data(as_text=True)
    assert by_object.count("data-event=") == 1 and "approved" in by_object
    today = clock.to_local(clock.now()).date().isoformat()
    assert client.get(f"/admin/audit/?from={today}").get_data(as_text=True).count("data-event=") == 2
    assert client.get(f"/admin/audit/?to={today}&who=%25").get_data(as_text=True).count("data-event=") == 0


def test_exports_follow_the_filters(app, client, login, rows):
    login("admin")
    response = client.get("/admin/audit/export.csv?who=office")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0] == list(log.FIELDS) and len(table) == 2
    assert table[1][log.FIELDS.index("action")] == "access_request.decided"
    assert '"reason": "=HYPERLINK' in table[1][log.FIELDS.index("after")]  # inside JSON: no formula
    book = load_workbook(io.BytesIO(client.get("/admin/audit/export.xlsx").data), read_only=True)
    sheet = list(book["audit"].iter_rows(values_only=True))
    assert list(sheet[0]) == list(log.FIELDS) and len(sheet) == 4


@pytest.mark.parametrize(
    "path, status",
    [
        ("/admin/audit/?from=2026-13-45", 400),
        ("/admin/audit/?to=yesterday", 400),
        ("/admin/audit/export.csv?from=nope", 400),
        ("/admin/audit/export.pdf", 404),
        ("/admin/audit/?page=999999", 200),
        ("/admin/audit/?who=" + "x" * 5000, 200),
        ("/admin/audit/?what=%25_%5C", 200),
    ],
)
def test_bad_input_is_a_clear_4xx(app, client, login, rows, path, status):
    login("admin")
    assert client.get(path).status_code == status
