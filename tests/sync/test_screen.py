"""Personal data held back at sync (issue 15 item 2, 待脱敏审核).

The sync samples each tabular resource (DataStore rows, mirrored CSV, XLSX and JSON) with the masking
rules; a dataset with unmasked names of persons, ID numbers or mobile numbers, or a sample that cannot be
read, is held instead of published; the office releases it with a reason, or it waits until CKAN's data
changes. Against the fake CKAN over HTTP, files mirrored to the S3 server.
"""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from ckanserver import FakeCkan, serve
from minio import Minio
from openpyxl import Workbook
from s3server import ACCESS_KEY, SECRET_KEY
from sqlalchemy import select
from sync_factories import ORGS, package, published, sync
from werkzeug.wrappers import Request, Response

from portal.audit.models import AuditEvent
from portal.catalogue import rules
from portal.catalogue.models import WITHDRAWN, Dataset, Resource
from portal.extensions import db
from portal.storage import MinioStorage
from portal.sync import screen
from portal.sync.models import HELD, RELEASED, PersonalDataHold, SyncError

PERSONAL_CSV = (
    "姓名,身份证号码,所在社区\n张三丰,330402199001011234,南湖社区\n李四,330411198502031237,月河社区\n"
)
MASKED_CSV = "姓名,身份证号码,所在社区\n张**,330402********1234,南湖社区\n李*,330411********1237,月河社区\n"
CLEAN_CSV = "站点,线路\n南湖站,1路\n"


def xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def initial_files() -> dict[str, tuple[bytes, str]]:
    return {
        "/d1.csv": (PERSONAL_CSV.encode(), "text/csv"),
        "/d2.csv": (CLEAN_CSV.encode(), "text/csv"),
        "/d3.csv": (MASKED_CSV.encode(), "text/csv"),  # its DataStore table is not masked
        "/d4.json": (
            json.dumps([{"姓名": "张*", "手机": "138****5678", "事项": "低保"}], ensure_ascii=False).encode(),
            "application/json",
        ),
        "/d5.xlsx": (b"PK\x03\x04 this is no workbook", "application/octet-stream"),
        "/d6.xlsx": (xlsx([["事项", "备注"], ["办证", "请联系13812345678"]]), "application/octet-stream"),
    }


@pytest.fixture
def files():
    """A file server whose content the tests change (files[path] = (bytes, type))."""
    content = initial_files()

    def app(environ, start_response):
        body = content.get(Request(environ).path)
        response = Response(body[0], mimetype=body[1]) if body else Response("not found", status=404)
        return response(environ, start_response)

    with serve(app) as url:
        content["url"] = url
        yield content


def resource(n: int, fmt: str, url: str, **fields) -> dict:
    extension = fmt.lower()
    return {"id": f"r-{n}", "name": f"表{n}", "format": fmt, "url": f"{url}/d{n}.{extension}", **fields}


@pytest.fixture
def fake(files) -> FakeCkan:
    fake = FakeCkan()
    for org in ORGS:
        fake.add_organization(org)
    url = files["url"]
    for n, fmt in enumerate(["CSV", "CSV", "CSV", "JSON", "XLSX", "XLSX"], start=1):
        fake.add_package(package(n, org=ORGS[0]["name"], resources=[resource(n, fmt, url)]))
    fake.set_datastore(
        "r-3", ["联系人", "事项"], 2, [{"联系人": "王五", "事项": "低保"}, {"联系人": "赵六", "事项": "救助"}]
    )
    return fake


@pytest.fixture
def ckan_url(app, fake):
    with serve(fake) as url:
        app.config["CKAN_URL"] = url  # the files share its host (127.0.0.1): mirrored
        yield url


@pytest.fixture
def s3(s3_endpoint) -> MinioStorage:
    client = Minio(s3_endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
    return MinioStorage(client, f"holds-{uuid.uuid4().hex}")


def dataset(n: int) -> Dataset:
    db.session.expire_all()
    return db.session.scalar(select(Dataset).where(Dataset.name == f"dataset-{n:03d}"))


def hold_of(n: int) -> PersonalDataHold | None:
    return db.session.get(PersonalDataHold, dataset(n).id)


def audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def everywhere(client) -> str:
    """What the public surfaces show of the catalogue, in one text."""
    paths = [
        "/datasets/?q=",
        "/api/3/action/package_search?rows=100",
        "/api/3/action/package_list",
        "/api/v1/datasets?per_page=100",
        "/catalog.ttl",
        "/catalog.jsonld",
        "/",
    ]
    return "\n".join(client.get(path).get_data(as_text=True) for path in paths)


def test_a_sync_holds_datasets_with_unmasked_personal_data_and_they_are_nowhere_public(
    app, client, ckan_url, s3
):
    run = sync(ckan_url, full=True, mirror=True, store=s3)
    assert published() == {"dataset-002", "dataset-004"}
    assert run.held == 4 and run.failed == 0 and run.status == "succeeded"
    for n in (1, 3, 5, 6):
        held = dataset(n)
        assert (held.state, held.withdrawn_reason) == (WITHDRAWN, rules.WITHHELD_PERSONAL)
        assert hold_of(n).status == HELD
    found = {
        (f["resource"], f["column"], f["rule"], f["sample"]) for n in (1, 3, 6) for f in hold_of(n).findings
    }
    assert found == {
        ("r-1", "姓名", "header:name", "张**"),
        ("r-1", "身份证号码", "header:id_number", "330402********1234"),
        ("r-3", "联系人", "header:name", "王*"),  # from the DataStore sample; the file is masked
        ("r-6", "备注", "value:mobile", "请联系138****5678"),
    }
    assert hold_of(1).findings[0]["rows"] == 2
    assert hold_of(5).findings == [] and "r-5" == hold_of(5).problems[0]["resource"]  # unreadable: held
    notes = db.session.scalars(
        select(SyncError).where(SyncError.run_id == run.id, SyncError.stage == "personal")
    )
    assert {(e.package, e.resource) for e in notes} >= {("dataset-001", "r-1"), ("dataset-005", "r-5")}
    # the files stay in storage for the release: a hold is not a withdrawal by level
    assert db.session.scalar(select(Resource.storage_key).where(Resource.ckan_id == "r-1")) is not None
    shown = everywhere(client)
    assert "dataset-002" in shown
    for n in (1, 3, 5, 6):
        name = f"dataset-{n:03d}"
        assert name not in shown and f"交通运输数据集{n}<" not in shown
        assert client.get(f"/datasets/{name}").status_code == 404
        assert client.get(f"/api/v1/datasets/{name}").status_code == 404
        assert client.get(f"/api/3/action/package_show?id={name}").status_code == 404
        assert client.get(f"/datasets/{name}/resources/r-{n}/download").status_code == 404
        assert client.get(f"/datasets/{name}/resources/r-{n}/preview").status_code == 404
        rows = client.get(f"/api/v1/datasets/{name}/resources/r-{n}/rows")  # 410 names only what was asked
        assert rows.status_code in (404, 410) and f"交通运输数据集{n}" not in rows.get_data(as_text=True)
    assert client.post("/api/3/action/datastore_search", json={"resource_id": "r-3"}).status_code == 404
    assert [e.object_id for e in audit("dataset.held")] == [
        "dataset-001",
        "dataset-003",
        "dataset-005",
        "dataset-006",
    ]


def test_the_office_sees_held_datasets_with_masked_samples_only(app, client, login, ckan_url, s3):
    run = sync(ckan_url, full=True, mirror=True, store=s3)
    login("admin")
    page = client.get("/admin/sync/holds").get_data(as_text=True)
    assert 'data-hold="dataset-001"' in page and 'data-hold="dataset-002"' not in page
    assert "330402********1234" in page and "王*" in page
    assert "199001011234" not in page and "三丰" not in page and "13812345678" not in page
    assert "not readable" in page  # the unreadable workbook says why it is held
    overview = client.get("/admin/sync/").get_data(as_text=True)
    assert re.search(r'data-testid="held-count"><a [^>]*>[^<]*\D4\D', overview)
    home = client.get("/admin/").get_data(as_text=True)  # the office's work queue
    assert re.search(r'data-task="held_datasets">\s*<a[^>]*><span class="queue-count" data-count="4">', home)
    run_page = client.get(f"/admin/sync/runs/{run.id}").get_data(as_text=True)
    assert re.search(r'data-counter="held"><strong>4</strong>', run_page)


@pytest.mark.parametrize("role", [None, "developer", "county_member", "judge", "data_owner"])
def test_only_the_office_sees_and_releases_holds(app, client, login, ckan_url, role):
    sync(ckan_url, full=True)  # not mirrored: the DataStore table of dataset-003 holds it
    if role:
        login(role)
    listing = client.get("/admin/sync/holds")
    assert listing.status_code in (302, 403)
    answer = client.post(f"/admin/sync/holds/{dataset(3).id}/release", data={"reason": "看过了"})
    assert answer.status_code in (302, 403)
    if answer.status_code == 302:
        assert "/account/sign-in" in answer.headers["Location"]
    assert dataset(3).state == WITHDRAWN and hold_of(3).status == HELD


def test_a_release_needs_a_reason_and_an_actual_hold(app, client, login, ckan_url):
    sync(ckan_url, full=True)
    login("admin")
    for reason in ("", "   ", "理" * (screen.REASON_MAX + 1)):
        client.post(f"/admin/sync/holds/{dataset(3).id}/release", data={"reason": reason})
        assert dataset(3).state == WITHDRAWN
    answer = client.post(
        f"/admin/sync/holds/{dataset(2).id}/release", data={"reason": "无"}, follow_redirects=True
    )
    assert "未因个人信息暂缓发布" in answer.get_data(as_text=True) and dataset(2).state == "published"
    assert client.post("/admin/sync/holds/999999/release", data={"reason": "无"}).status_code == 404
    assert client.post("/admin/sync/holds/abc/release", data={"reason": "无"}).status_code == 404
    assert audit("dataset.hold_released") == []


def test_a_reason_holding_a_nul_is_refused_not_a_server_error(app, client, login, ckan_url):
    """PostgreSQL keeps no NUL in text (nor \\u0000 in JSON): the release is refused as any bad reason is."""
    sync(ckan_url, full=True)
    login("admin")
    answer = client.post(f"/admin/sync/holds/{dataset(3).id}/release", data={"reason": "看过\x00了"})
    assert answer.status_code == 400
    assert dataset(3).state == WITHDRAWN and hold_of(3).status == HELD
    assert audit("dataset.hold_released") == []


def test_a_released_dataset_stays_published_until_ckan_changes_its_data(
    app, client, login, fake, ckan_url, s3, files
):
    sync(ckan_url, full=True, mirror=True, store=s3)
    office = login("admin")
    reason = "数据源部门确认：测试样例数据，非真实个人信息"
    client.post(f"/admin/sync/holds/{dataset(1).id}/release", data={"reason": reason})
    assert dataset(1).state == "published" and hold_of(1).status == RELEASED
    assert hold_of(1).released_by_id == office.id and hold_of(1).release_reason == reason
    (event,) = audit("dataset.hold_released")
    assert (event.actor_id, event.object_id) == (office.id, "dataset-001")
    assert event.before["state"] == WITHDRAWN and event.before["reason"] == "personal_data"
    assert event.after == {"state": "published", "reason": reason}
    assert 'data-released="dataset-001"' in client.get("/admin/sync/holds").get_data(as_text=True)
    for full in (False, True):  # nothing changed in CKAN: it stays out of review
        run = sync(ckan_url, full=full, mirror=True, store=s3)
        assert dataset(1).state == "published" and run.held == 3  # the others are still held
    files["/d1b.csv"] = ((PERSONAL_CSV + "王五,330402197001011236,南湖社区\n").encode(), "text/csv")
    fake.update_package(
        "dataset-001", resources=[{**resource(1, "CSV", files["url"]), "url": f"{files['url']}/d1b.csv"}]
    )
    sync(ckan_url, mirror=True, store=s3)
    assert (dataset(1).state, dataset(1).withdrawn_reason, hold_of(1).status) == (
        WITHDRAWN,
        "personal_data",
        HELD,
    )
    assert hold_of(1).release_reason is None and hold_of(1).findings[0]["rows"] == 3
    withdrawn = audit("dataset.withdrawn")
    assert [(e.object_id, e.after["reason"]) for e in withdrawn] == [("dataset-001", "personal_data")]


def test_a_held_dataset_is_published_by_the_sync_when_its_personal_data_is_gone(
    app, fake, ckan_url, s3, files
):
    sync(ckan_url, mirror=True, store=s3)
    files["/d1m.csv"] = (MASKED_CSV.encode(), "text/csv")
    fake.update_package(
        "dataset-001", resources=[{**resource(1, "CSV", files["url"]), "url": f"{files['url']}/d1m.csv"}]
    )
    run = sync(ckan_url, mirror=True, store=s3)
    assert dataset(1).state == "published" and "dataset-001" in published()
    assert hold_of(1).status == "clear" and hold_of(1).findings == [] and run.restored == 1
    (cleared,) = audit("dataset.hold_cleared")
    assert cleared.object_id == "dataset-001" and cleared.after["status"] == "clear"
    notes = db.session.scalars(
        select(SyncError.message).where(SyncError.run_id == run.id, SyncError.stage == "personal")
    )
    assert any("gone" in note for note in notes)


def test_a_published_dataset_that_gains_personal_data_is_withdrawn_and_keeps_its_files(
    app, fake, ckan_url, s3, files
):
    sync(ckan_url, mirror=True, store=s3)
    files["/d2p.csv"] = (PERSONAL_CSV.encode(), "text/csv")
    fake.update_package(
        "dataset-002", resources=[{**resource(2, "CSV", files["url"]), "url": f"{files['url']}/d2p.csv"}]
    )
    run = sync(ckan_url, mirror=True, store=s3)
    assert (dataset(2).state, dataset(2).withdrawn_reason) == (WITHDRAWN, "personal_data")
    assert run.withdrawn == 1 and run.held == 5  # the run counts every held dataset it read
    key = db.session.scalar(select(Resource.storage_key).where(Resource.ckan_id == "r-2"))
    assert key is not None and key in set(s3.keys())


def test_a_dataset_published_before_the_rule_is_scanned_by_the_next_full_run(app, ckan_url, s3):
    sync(ckan_url, mirror=True, store=s3)
    assert hold_of(2).status == "clear"  # every scanned dataset keeps what was scanned
    db.session.delete(hold_of(1))
    old = dataset(1)  # as a dataset published before holds existed: never scanned
    old.state, old.withdrawn_reason, old.withdrawn_at = "published", None, None
    db.session.commit()
    assert hold_of(1) is None and "dataset-001" in published()
    sync(ckan_url, mirror=True, store=s3)  # incremental: CKAN has no change, nothing is read again
    assert dataset(1).state == "published"
    run = sync(ckan_url, full=True, mirror=True, store=s3)
    assert (dataset(1).state, dataset(1).withdrawn_reason, hold_of(1).status) == (
        WITHDRAWN,
        "personal_data",
        HELD,
    )
    assert run.withdrawn == 1 and "dataset-001" not in published()
    assert hold_of(2).status == "clear" and dataset(2).state == "published"


def test_a_held_dataset_gone_from_ckan_leaves_the_review(app, client, login, fake, ckan_url):
    sync(ckan_url, full=True)
    fake.delete_package("dataset-003")
    sync(ckan_url, full=True)
    assert dataset(3).withdrawn_reason in ("deleted", "deleted_or_private")
    login("admin")
    assert 'data-hold="dataset-003"' not in client.get("/admin/sync/holds").get_data(as_text=True)
    client.post(f"/admin/sync/holds/{dataset(3).id}/release", data={"reason": "看过了"})
    assert dataset(3).state == WITHDRAWN  # a release never publishes what CKAN dropped


def test_a_released_datasets_previews_rows_and_exports_mask_names_and_id_numbers(
    app, client, login, ckan_url, s3
):
    """What the office releases reaches the public only masked: the preview, the table page, /api/v1 rows
    and their exports, and datastore_search (its DataStore table) and the CKAN-compatible answer."""
    app.extensions["storage"] = s3  # the portal serves from the store the sync mirrored to
    sync(ckan_url, full=True, mirror=True, store=s3, rows=True)
    login("admin")
    for n in (1, 3):
        client.post(f"/admin/sync/holds/{dataset(n).id}/release", data={"reason": "已核实"})
    client.get("/account/sign-out")
    assert {"dataset-001", "dataset-003"} <= published()
    raw = ("张三丰", "三丰", "199001011234", "198502031237", "王五", "赵六")
    answers = {
        "preview": client.get("/datasets/dataset-001/resources/r-1/preview"),
        "table": client.get("/datasets/dataset-001/resources/r-1/table"),
        "rows": client.get("/api/v1/datasets/dataset-001/resources/r-1/rows"),
        "csv": client.get("/api/v1/datasets/dataset-001/resources/r-1/rows/export?format=csv"),
        "json": client.get("/api/v1/datasets/dataset-001/resources/r-1/rows/export?format=json"),
        "datastore": client.post("/api/3/action/datastore_search", json={"resource_id": "r-3"}),
    }
    for what, answer in answers.items():
        text = answer.get_data(as_text=True)
        assert answer.status_code == 200, what
        assert not [value for value in raw if value in text], what
    assert "330402********1234" in answers["rows"].get_data(as_text=True)
    assert "张**" in answers["csv"].get_data(as_text=True)
    records = answers["datastore"].get_json()["result"]["records"]
    assert [r["联系人"] for r in records] == ["王*", "赵*"]


def test_the_office_is_told_once_in_the_site_and_by_email_of_what_a_run_held(app, client, login, ckan_url):
    from email import message_from_bytes, policy

    from portal.notices.models import Notification

    office = login("admin")
    sync(ckan_url, full=True)  # not mirrored: the DataStore table of dataset-003 holds it
    sync(ckan_url, full=True)  # nothing new is held: nobody is told again
    (notice,) = db.session.scalars(select(Notification).where(Notification.user_id == office.id))
    assert notice.kind == "datasets_held" and notice.reason == "dataset-003"
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert 'data-kind="datasets_held"' in page and "/admin/sync/holds" in page
    (sent,) = sorted(app.extensions["mail"].folder.glob("*.eml"))
    message = message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert message["To"] == office.email and "1 个数据集" in message["Subject"]
    assert "dataset-003" in message.get_content() and "/admin/sync/holds" in message.get_content()


def test_an_unreadable_sample_is_read_again_each_run_without_telling_anyone_twice(app, ckan_url, s3, files):
    sync(ckan_url, mirror=True, store=s3)
    run = sync(ckan_url, full=True, mirror=True, store=s3)  # read again: the cause may have passed
    assert dataset(5).state == WITHDRAWN and hold_of(5).problems and hold_of(5).status == HELD
    assert [e.object_id for e in audit("dataset.held")].count("dataset-005") == 1
    notes = db.session.scalars(
        select(SyncError.package).where(SyncError.run_id == run.id, SyncError.stage == "personal")
    )
    assert "dataset-005" not in set(notes)


@pytest.mark.parametrize("page", ["abc", "-5", "99999", "1" * 400, "\x00"])
def test_odd_pages_of_the_review_answer_without_an_error(app, client, login, page):
    login("admin")
    assert client.get("/admin/sync/holds", query_string={"page": page}).status_code in (200, 400, 404)


def test_a_datastore_table_is_read_once_and_only_a_scan_that_read_a_table_keeps_a_row(app, fake, ckan_url):
    fake.set_datastore("r-2", ["站点", "线路"], 1, [{"站点": "南湖站", "线路": "1路"}])
    run = sync(ckan_url, full=True)  # no mirroring: only the DataStore tables of r-2 and r-3 can be read
    searched = sorted(params["resource_id"] for params in fake.calls_to("datastore_search"))
    assert searched == ["r-2", "r-3"]  # each table's shape and sample in one call, read ahead
    assert hold_of(3).status == HELD and hold_of(2).status == "clear"
    assert {n: hold_of(n) for n in (1, 4, 5, 6)} == dict.fromkeys((1, 4, 5, 6))  # nothing read, nothing kept
    assert run.held == 1 and "dataset-001" in published()
    again = sync(ckan_url, full=True)
    assert (again.unchanged, again.held) == (5, 1)
    assert len(fake.calls_to("datastore_search")) == 4  # read ahead again; no scan is repeated


def test_a_fingerprint_is_the_digest_held_datasets_keep():
    """Holds keep the fingerprint of what was scanned (personal_data_holds.fingerprint): a fingerprint
    written another way would scan every dataset again at the next run, so its digest is pinned (the
    resources in CKAN id order, each part as str() writes it)."""
    from datetime import UTC, datetime

    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    resources = [
        {"ckan_id": "r-2", "sha256": None, "ckan_last_modified": when, "size": 2048, "url": "http://x/2.csv",
         "datastore_active": True},
        {"ckan_id": "r-1", "sha256": "ab", "ckan_last_modified": None, "size": None, "url": "",
         "datastore_active": False},
    ]  # fmt: skip
    assert screen.fingerprint(datetime(2024, 1, 1, tzinfo=UTC), resources) == (
        "ce410f1e7993065deb0c919c37bc9e12e77d3e3683a7905c66a9a0c54dd39b54"
    )
