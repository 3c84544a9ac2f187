"""Error report pages: the permission matrix, hostile input, public replies, the hold on previews, the API."""

from __future__ import annotations

import io

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user

from portal.extensions import db
from portal.feedback.models import ErrorReport

ROLES = ["admin", "county_member", "judge", "developer"]


def _report(dataset, kind="wrong_values"):
    from portal import clock
    from portal.feedback import reports

    report = reports.file_report(
        dataset, by=make_user(), kind=kind, text="数值有误", now=clock.now(), working_days=5
    )
    db.session.commit()
    return report


@pytest.mark.parametrize("role", [None, *ROLES])
def test_desk_is_for_the_office_only(app, client, login, role):
    if role:
        login(role)
    response = client.get("/admin/reports")
    expected = {None: 302, "admin": 200}.get(role, 403)
    assert response.status_code == expected


@pytest.mark.parametrize("role", [None, *ROLES])
def test_any_signed_in_user_may_report(app, client, login, role):
    dataset = make_dataset()
    db.session.commit()
    if role:
        login(role)
    response = client.post(
        f"/datasets/{dataset.name}/reports/new", data={"kind": "outdated", "text": "已过期"}
    )
    assert response.status_code == (302 if role else 302)
    assert db.session.query(ErrorReport).count() == (1 if role else 0)


@pytest.mark.parametrize("role", [None, *ROLES])
def test_only_the_office_answers(app, client, login, role):
    report = _report(make_dataset())
    if role:
        login(role)
    response = client.post(f"/admin/reports/{report.id}/answer", data={"action": "fix", "reply": "已更正"})
    db.session.expire_all()
    assert response.status_code == {None: 302, "admin": 302}.get(role, 403)
    assert db.session.get(ErrorReport, report.id).state == ("fixed" if role == "admin" else "new")


def test_bad_input_is_a_clear_400_and_changes_nothing(app, client, login):
    dataset = make_dataset()
    db.session.commit()
    login()
    page = client.post(f"/datasets/{dataset.name}/reports/new", data={"kind": "outdated", "text": " "})
    assert page.status_code == 400 and "请描述问题。" in page.get_data(as_text=True)
    big = client.post(
        f"/datasets/{dataset.name}/reports/new",
        data={
            "kind": "outdated",
            "text": "截图",
            "screenshot": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 3_000_000), "a.png"),
        },
        content_type="multipart/form-data",
    )
    assert big.status_code == 400 and "截图过大。" in big.get_data(as_text=True)
    assert (
        client.post(
            f"/datasets/{dataset.name}/reports/new", data={"kind": "x", "text": "t", "resource": "nope"}
        ).status_code
        == 400
    )
    assert (
        client.post("/datasets/no-such/reports/new", data={"kind": "outdated", "text": "t"}).status_code
        == 404
    )
    assert db.session.query(ErrorReport).count() == 0


def test_answering_a_closed_report_is_refused_and_changes_nothing(app, client, login):
    report = _report(make_dataset())
    login("admin")
    client.post(f"/admin/reports/{report.id}/answer", data={"action": "reject", "reply": "不是问题"})
    client.post(f"/admin/reports/{report.id}/answer", data={"action": "fix", "reply": "改了"})
    db.session.expire_all()
    assert db.session.get(ErrorReport, report.id).state == "rejected"
    assert client.post(f"/admin/reports/{report.id}/answer", data={"action": "drop"}).status_code == 400


def test_replies_are_public_and_the_reporter_anonymised(app, client, login):
    dataset = make_dataset()
    report = _report(dataset)
    login("admin")
    client.post(f"/admin/reports/{report.id}/answer", data={"action": "fix", "reply": "已于今日更正"})
    client.get("/account/sign-out")
    page = client.get(f"/datasets/{dataset.name}/reports").get_data(as_text=True)
    assert (
        "已于今日更正" in page
        and report.reporter.display_name not in page
        and report.reporter.email not in page
    )


def test_a_personal_data_report_withholds_previews(app, client, login):
    dataset = make_dataset()
    resource = dataset.resources[0]
    report = _report(dataset, kind="personal_data")
    response = client.get(f"/datasets/{dataset.name}/resources/{resource.ckan_id}/preview?format=json")
    assert response.status_code == 404 and response.json["error"]["code"] == "held"
    login("admin")
    client.post(f"/admin/reports/{report.id}/answer", data={"action": "fix", "reply": "已脱敏"})
    response = client.get(f"/datasets/{dataset.name}/resources/{resource.ckan_id}/preview?format=json")
    assert response.json.get("error", {}).get("code") != "held"


def test_summary_api_agrees_with_the_reports(app, client, login):
    department = make_department(name="jxjt")
    dataset = make_dataset(department=department)
    fixed, rejected, _open = _report(dataset), _report(dataset), _report(dataset)
    login("admin")
    client.post(f"/admin/reports/{fixed.id}/answer", data={"action": "fix", "reply": "改了"})
    client.post(f"/admin/reports/{rejected.id}/answer", data={"action": "reject", "reply": "无误"})
    body = client.get("/api/v1/feedback/summary").json
    row = next(r for r in body["departments"] if r["organization"] == "jxjt")
    assert (row["reports"], row["fixed"], row["rejected"], row["rectification_rate"]) == (3, 1, 1, 0.5)
    county = next(r for r in body["counties"] if r["code"] == department.region.code)
    assert county["reports"] == 3 and body["total"]["reports"] == 3
    assert client.get("/api/v1/feedback/summary?year=1999").status_code == 400
    assert client.get("/api/v1/feedback/summary?year=2000").json["total"]["reports"] == 0
