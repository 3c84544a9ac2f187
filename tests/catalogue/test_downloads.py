"""Downloads and access requests: who downloads what, how files are served and counted, the review."""

from __future__ import annotations

import hashlib
import threading
import urllib.request
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from catalogue_factories import CSV, counts, download_url, make_dataset, make_resource, mirrored
from factories import make_user
from s3server import ACCESS_KEY, SECRET_KEY, running_s3_server
from sqlalchemy import select
from testconfig import ON_POSTGRES, empty_tables

from portal.catalogue import access, downloads, permissions
from portal.catalogue.models import (
    APPROVED,
    CONDITIONAL,
    PENDING,
    REJECTED,
    UNCONDITIONAL,
    WITHDRAWN,
    AccessRequest,
    Dataset,
)
from portal.extensions import db
from portal.activity.models import ActivityEvent

PURPOSE = "开发嘉兴停车导航小程序，需要泊位数据"
ROLES = [None, "developer", "county_member", "judge", "admin"]


def request_of(user, dataset: Dataset, status: str, reason: str = "") -> AccessRequest:
    item = AccessRequest(
        user_id=user.id, dataset_id=dataset.id, purpose=PURPOSE, status=status, decision_reason=reason
    )
    db.session.add(item)
    db.session.commit()
    return item


def requests_of(user) -> list[AccessRequest]:
    db.session.expire_all()
    return list(db.session.scalars(select(AccessRequest).where(AccessRequest.user_id == user.id)))


# --- who may download ------------------------------------------------------------------------------------

DOWNLOAD_RULES = {
    **{(UNCONDITIONAL, role): 200 for role in ROLES},
    (CONDITIONAL, None): 302,  # to sign in
    (CONDITIONAL, "developer"): 403,
    (CONDITIONAL, "county_member"): 403,
    (CONDITIONAL, "judge"): 403,
    (CONDITIONAL, "admin"): 200,
}


@pytest.mark.parametrize(("condition", "role"), sorted(DOWNLOAD_RULES, key=str))
def test_download_rules_by_role_and_open_condition(client, login, condition, role):
    if role:
        login(role)
    dataset = make_dataset(open_condition=condition, resources=[], index=False)
    resource = mirrored(dataset)
    response = client.get(download_url(dataset, resource))
    assert response.status_code == DOWNLOAD_RULES[(condition, role)]
    if response.status_code == 302:
        assert "/account/sign-in" in response.headers["Location"]
    expected = 1 if response.status_code == 200 else 0
    assert counts(dataset, resource) == (expected, expected, expected)


@pytest.mark.parametrize(("status", "allowed"), [(APPROVED, True), (PENDING, False), (REJECTED, False)])
def test_conditional_download_needs_an_approved_request(client, login, status, allowed):
    developer = login("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, resources=[], index=False)
    resource = mirrored(dataset)
    request_of(developer, dataset, status, reason="用途不明确" if status == REJECTED else "")
    response = client.get(download_url(dataset, resource))
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert f'data-access="{"pending" if status == PENDING else "rejected"}"' in response.get_data(
            as_text=True
        )


def test_an_approval_for_one_dataset_does_not_open_another(client, login):
    developer = login("developer")
    approved = make_dataset(open_condition=CONDITIONAL, resources=[], index=False)
    other = make_dataset(open_condition=CONDITIONAL, resources=[], index=False)
    resource = mirrored(other)
    request_of(developer, approved, APPROVED)
    assert client.get(download_url(other, resource)).status_code == 403


@pytest.mark.parametrize("role", ["developer", "county_member"])
def test_refused_conditional_download_explains_how_to_get_access(client, login, role):
    login(role)
    dataset = make_dataset(open_condition=CONDITIONAL, resources=[], index=False)
    resource = mirrored(dataset)
    html = client.get(download_url(dataset, resource)).get_data(as_text=True)
    expected = "apply" if role == "developer" else "wrong-role"
    assert f'data-access="{expected}"' in html


@pytest.mark.parametrize(("role", "status"), [(None, 410), ("developer", 410), ("admin", 200)])
def test_withdrawn_datasets_are_downloaded_by_admins_only(client, login, role, status):
    if role:
        login(role)
    dataset = make_dataset(state=WITHDRAWN, resources=[], index=False)
    resource = mirrored(dataset)
    assert client.get(download_url(dataset, resource)).status_code == status


def test_removed_resource_is_not_found(client):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, state="removed")
    assert client.get(download_url(dataset, resource)).status_code == 404


@pytest.mark.parametrize(
    ("role", "condition", "request_status", "allowed"),
    [
        (None, UNCONDITIONAL, None, True),
        (None, CONDITIONAL, None, False),
        ("developer", CONDITIONAL, None, False),
        ("developer", CONDITIONAL, PENDING, False),
        ("developer", CONDITIONAL, REJECTED, False),
        ("developer", CONDITIONAL, APPROVED, True),
        ("county_member", CONDITIONAL, APPROVED, False),  # only developers' approvals count
        ("judge", CONDITIONAL, None, False),
        ("admin", CONDITIONAL, None, True),
    ],
)
def test_can_download_dataset_table(app, role, condition, request_status, allowed):
    from flask_login import AnonymousUserMixin

    user = make_user(role) if role else AnonymousUserMixin()
    dataset = make_dataset(open_condition=condition, resources=[], index=False)
    if request_status:
        request_of(user, dataset, request_status)
    assert permissions.can_download_dataset(user, dataset) is allowed
    assert permissions.can_preview_dataset(user, dataset) is allowed


@pytest.mark.parametrize(
    ("role", "condition", "request_status", "allowed"),
    [
        (None, CONDITIONAL, None, False),
        ("developer", CONDITIONAL, None, True),
        ("developer", CONDITIONAL, REJECTED, True),
        ("developer", CONDITIONAL, APPROVED, False),
        ("developer", UNCONDITIONAL, None, False),
        ("county_member", CONDITIONAL, None, False),
        ("judge", CONDITIONAL, None, False),
        ("admin", CONDITIONAL, None, False),
    ],
)
def test_can_request_access_table(app, role, condition, request_status, allowed):
    from flask_login import AnonymousUserMixin

    user = make_user(role) if role else AnonymousUserMixin()
    dataset = make_dataset(open_condition=condition, resources=[], index=False)
    if request_status:
        request_of(user, dataset, request_status)
    assert permissions.can_request_access(user, dataset) is allowed


# --- how files are served --------------------------------------------------------------------------------


def test_local_file_is_streamed_as_an_attachment_and_counted(client, login):
    developer = login("developer")
    dataset = make_dataset(resources=[], download_count=5, index=False)
    resource = mirrored(dataset, name="嘉兴市停车场泊位（CSV）")
    response = client.get(download_url(dataset, resource))
    assert response.status_code == 200
    assert response.data == CSV
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "嘉兴市停车场泊位（CSV）.csv"
    assert counts(dataset, resource) == (6, 1, 1)
    event = db.session.scalar(select(ActivityEvent).where(ActivityEvent.kind == "download"))
    assert (event.user_id, event.dataset_id, event.resource_id) == (developer.id, dataset.id, resource.id)


def test_repeated_downloads_by_one_visitor_count_once_a_day(client):
    # More rules of counting in test_catalogue_download_counts.py.
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    for _ in range(3):
        assert client.get(download_url(dataset, resource)).status_code == 200
    assert counts(dataset, resource) == (1, 1, 1)


def test_files_that_browsers_would_run_are_served_as_octet_stream(client):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, b"<script>alert(1)</script>", filename="page.html", format="HTML")
    resource.content_type = "text/html"
    db.session.commit()
    response = client.get(download_url(dataset, resource))
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_unmirrored_resource_redirects_to_its_web_address(client):
    dataset = make_dataset(
        resources=[{"format": "CSV", "url": "https://data.example.cn/parking.csv"}], index=False
    )
    db.session.commit()
    resource = dataset.resources[0]
    response = client.get(download_url(dataset, resource))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://data.example.cn/parking.csv"
    assert counts(dataset, resource) == (1, 1, 1)


def test_missing_mirrored_copy_falls_back_to_the_web_address(client):
    dataset = make_dataset(
        resources=[{"format": "CSV", "url": "https://data.example.cn/parking.csv"}], index=False
    )
    dataset.resources[0].storage_key = "resources/gone/gone/parking.csv"
    db.session.commit()
    response = client.get(download_url(dataset, dataset.resources[0]))
    assert response.headers["Location"] == "https://data.example.cn/parking.csv"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "files/parking.csv", "ftp://data.example.cn/a.csv", ""],
)
def test_resource_without_file_or_web_address_is_not_found_and_not_counted(client, url):
    dataset = make_dataset(resources=[{"format": "CSV", "url": url}], index=False)
    db.session.commit()
    resource = dataset.resources[0]
    response = client.get(download_url(dataset, resource))
    assert response.status_code == 404
    assert 'data-testid="not-downloadable"' in response.get_data(as_text=True)
    assert counts(dataset, resource) == (0, 0, 0)


def test_download_filename_comes_from_the_resource_name_and_extension(app):
    dataset = make_dataset(resources=[], index=False)
    named = make_resource(dataset, name='报名/接口<img src=x onerror="alert(1)">', format="XLSX")
    named.storage_key = "resources/a/b/list.xlsx"
    unnamed = make_resource(dataset, name="", format="JSON")
    already = make_resource(dataset, name="公交站点.csv", format="CSV")
    assert downloads.download_filename(named) == "报名 接口 img src=x onerror= alert(1).xlsx"
    assert downloads.download_filename(unnamed) == "download.json"
    assert downloads.download_filename(already) == "公交站点.csv"


@pytest.fixture(scope="module")
def s3_endpoint():
    with running_s3_server() as endpoint:
        yield endpoint


def test_minio_download_is_a_short_lived_presigned_redirect(make_app, s3_endpoint):
    bucket = f"downloads-{uuid.uuid4().hex[:12]}"
    app = make_app(STORAGE_URL=f"minio://{ACCESS_KEY}:{SECRET_KEY}@{s3_endpoint}/{bucket}")
    with app.app_context():
        from portal.seeding import load_regions

        load_regions()
        dataset = make_dataset(resources=[], index=False)
        resource = mirrored(dataset, name="嘉兴市停车场泊位（CSV）")
        try:
            response = app.test_client().get(download_url(dataset, resource))
            assert response.status_code == 302
            location = response.headers["Location"]
            parts = urlsplit(location)
            query = parse_qs(parts.query)
            assert parts.netloc == s3_endpoint and parts.path == f"/{bucket}/{resource.storage_key}"
            assert query["X-Amz-Expires"] == ["300"]
            assert "嘉兴市停车场泊位（CSV）.csv" in unquote(query["response-content-disposition"][0])
            with urllib.request.urlopen(location) as fetched:
                assert fetched.read() == CSV
            assert counts(dataset, resource) == (1, 1, 1)
        finally:
            db.session.rollback()
            empty_tables()


# --- access requests -------------------------------------------------------------------------------------


def test_developer_applies_with_a_purpose(client, login):
    developer = login("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    response = client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": PURPOSE})
    assert response.status_code == 302
    (item,) = requests_of(developer)
    assert (item.dataset_id, item.status, item.purpose) == (dataset.id, PENDING, PURPOSE)
    assert 'data-access="pending"' in client.get(f"/datasets/{dataset.name}").get_data(as_text=True)


def test_double_submitted_request_is_stored_once(client, login):
    developer = login("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    for _ in range(2):
        assert (
            client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": PURPOSE}).status_code
            == 302
        )
    assert len(requests_of(developer)) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has a single writer; PostgreSQL shows the race")
def test_simultaneous_requests_are_stored_once(app):
    developer = make_user("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    barrier, errors = threading.Barrier(4), []

    def apply() -> None:
        with app.app_context():
            try:
                user, target = (
                    db.session.get(type(developer), developer.id),
                    db.session.get(Dataset, dataset.id),
                )
                barrier.wait()
                access.request_access(user, target, PURPOSE)
                db.session.commit()
            except access.AlreadyPending:
                db.session.rollback()
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(requests_of(developer)) == 1


@pytest.mark.parametrize("purpose", ["", "太短了", "   短短短短短   ", "长" * 1001])
def test_purpose_must_be_ten_to_a_thousand_characters(client, login, purpose):
    developer = login("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    response = client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": purpose})
    assert response.status_code == 400
    assert requests_of(developer) == []


def test_rejected_developer_may_apply_again(client, login):
    developer = login("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    request_of(developer, dataset, REJECTED, reason="请说明具体用途")
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert 'data-access="rejected"' in html and "请说明具体用途" in html
    client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": PURPOSE + "，仅用于导航"})
    assert sorted(r.status for r in requests_of(developer)) == [PENDING, REJECTED]


@pytest.mark.parametrize(("role", "status"), [("county_member", 403), ("judge", 403), ("admin", 403)])
def test_only_developers_apply(client, login, role, status):
    user = login(role)
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    assert (
        client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": PURPOSE}).status_code
        == status
    )
    assert requests_of(user) == []


def test_anonymous_visitor_is_sent_to_sign_in_to_apply(client):
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    db.session.commit()
    assert 'data-access="sign-in"' in client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    response = client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": PURPOSE})
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]


def test_unconditional_dataset_takes_no_request(client, login):
    developer = login("developer")
    dataset = make_dataset(index=False)
    db.session.commit()
    assert (
        client.post(f"/datasets/{dataset.name}/request-access", data={"purpose": PURPOSE}).status_code == 403
    )
    assert requests_of(developer) == []


# --- the office's review ---------------------------------------------------------------------------------


def test_review_lists_pending_requests_first_and_filters_by_status(client, login):
    login("admin")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    decided = request_of(make_user("developer"), dataset, APPROVED)
    pending = request_of(make_user("developer"), dataset, PENDING)
    rejected = request_of(make_user("developer"), dataset, REJECTED, reason="用途不符")
    html = client.get("/admin/access-requests").get_data(as_text=True)
    order = [html.index(f'data-request="{r.id}"') for r in (pending, rejected, decided)]
    assert order[0] == min(order)
    filtered = client.get("/admin/access-requests?status=rejected").get_data(as_text=True)
    assert f'data-request="{rejected.id}"' in filtered and f'data-request="{pending.id}"' not in filtered


def test_review_is_paged(client, login):
    login("admin")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    for _ in range(30):
        request_of(make_user("developer"), dataset, PENDING)
    first = client.get("/admin/access-requests").get_data(as_text=True)
    second = client.get("/admin/access-requests?page=2").get_data(as_text=True)
    assert first.count("data-request=") == 25 and second.count("data-request=") == 5


def test_admin_approves_and_the_developer_sees_it(client, login, app):
    admin = login("admin")
    developer = make_user("developer")
    dataset = make_dataset(open_condition=CONDITIONAL, index=False)
    item = request_of(developer, dataset, PENDING)
    response = client.post(f"/admin/access-requests/{item.id}/decision", data={"decision": "approve"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (item.status, item.decided_by_id) == (APPROVED, admin.id) and item.decided_at is not None
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = str(developer.id)
    page = other.get("/account/access-requests").get_data(as_text=True)
    assert f'data-request="{item.id}"' in page and 'data-status="approved"' in page
    assert 'data-access="granted"' in other.get(f"/datasets/{dataset.name}").get_data(as_text=True)


def test_rejection_needs_a_reason(client, login):
    login("admin")
    item = request_of(make_user("developer"), make_dataset(open_condition=CONDITIONAL, index=False), PENDING)
    client.post(f"/admin/access-requests/{item.id}/decision", data={"decision": "reject", "reason": "  "})
    db.session.expire_all()
    assert item.status == PENDING
    client.post(
        f"/admin/access-requests/{item.id}/decision", data={"decision": "reject", "reason": "用途与数据无关"}
    )
    db.session.expire_all()
    assert (item.status, item.decision_reason) == (REJECTED, "用途与数据无关")


def test_a_decided_request_is_not_decided_again(app):
    first, second = make_user("admin"), make_user("admin")
    item = request_of(make_user("developer"), make_dataset(open_condition=CONDITIONAL, index=False), PENDING)
    access.decide(item, approve=True, reason="", by=first)
    with pytest.raises(access.AlreadyDecided):
        access.decide(item, approve=False, reason="晚了", by=second)
    assert (item.status, item.decided_by_id) == (APPROVED, first.id)


def test_unknown_decision_is_a_bad_request(client, login):
    login("admin")
    item = request_of(make_user("developer"), make_dataset(open_condition=CONDITIONAL, index=False), PENDING)
    assert (
        client.post(f"/admin/access-requests/{item.id}/decision", data={"decision": "maybe"}).status_code
        == 400
    )


# --- my downloads and the permission matrix --------------------------------------------------------------


def test_my_downloads_lists_my_downloads_newest_first(client, login):
    login("developer")
    first = make_dataset(title="第一个数据集", resources=[], index=False)
    second = make_dataset(title="第二个数据集", resources=[], index=False)
    first_file, second_file = mirrored(first), mirrored(second)
    client.get(download_url(first, first_file))
    client.get(download_url(second, second_file))
    html = client.get("/account/downloads").get_data(as_text=True)
    assert html.index("第二个数据集") < html.index("第一个数据集")
    assert html.count("data-event=") == 2


def test_my_downloads_shows_no_one_elses(client, login, app):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = str(make_user("developer").id)
    db.session.commit()
    other.get(download_url(dataset, resource))
    login("developer")
    assert "data-event=" not in client.get("/account/downloads").get_data(as_text=True)


def test_my_downloads_is_paged(client, login):
    login("developer")
    for _ in range(27):  # 27 datasets: one visitor's downloads of one dataset count once a day
        dataset = make_dataset(resources=[], index=False)
        client.get(download_url(dataset, mirrored(dataset)))
    assert client.get("/account/downloads?page=2").get_data(as_text=True).count("data-event=") == 2


SIGNED_IN_PAGES = ["/account/downloads", "/account/access-requests", "/account/api-tokens"]


@pytest.mark.parametrize("page", [*SIGNED_IN_PAGES, "/admin/access-requests"])
def test_new_pages_send_anonymous_visitors_to_sign_in(client, page):
    response = client.get(page)
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]


@pytest.mark.parametrize(("page", "role"), [(p, r) for p in SIGNED_IN_PAGES for r in ROLES[1:]])
def test_account_pages_open_for_every_role(client, login, page, role):
    login(role)
    assert client.get(page).status_code == 200


@pytest.mark.parametrize("role", ROLES[1:])
def test_review_page_is_for_admins_only(client, login, role):
    login(role)
    item = request_of(make_user("developer"), make_dataset(open_condition=CONDITIONAL, index=False), PENDING)
    assert client.get("/admin/access-requests").status_code == (200 if role == "admin" else 403)
    decision = client.post(f"/admin/access-requests/{item.id}/decision", data={"decision": "approve"})
    assert decision.status_code == (302 if role == "admin" else 403)


def test_admin_home_links_to_the_review(client, login):
    login("admin")
    assert 'href="/admin/access-requests"' in client.get("/admin/").get_data(as_text=True)


def test_account_menu_links_to_the_new_pages(client, login):
    login("developer")
    html = client.get("/").get_data(as_text=True)
    for page in SIGNED_IN_PAGES:
        assert f'href="{page}"' in html


def test_sha256_of_a_download_matches_the_stored_file(client):
    """The bytes served are the mirrored bytes, not a re-encoding."""
    data = "编号,名称\n1,甲\n".encode("gb18030")
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset, data)
    assert (
        hashlib.sha256(client.get(download_url(dataset, resource)).data).hexdigest()
        == hashlib.sha256(data).hexdigest()
    )
