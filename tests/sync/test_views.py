"""The data office starts syncs, follows runs and their errors, and compares CKAN with the portal."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import ckanapi
import pytest
from ckanserver import FakeCkan, serve
from connections import record as record_connections
from sqlalchemy import func, select, update

from portal.catalogue.models import PUBLISHED, WITHDRAWN, Dataset
from portal.extensions import db
from portal.sync import background, health, lock, remote, run
from portal.sync.models import FAILED, RUNNING, SUCCEEDED, SyncError, SyncRun, SyncSource

SEEDED_DEMO = Path(__file__).resolve().parents[2] / "seeds" / "catalogue" / "demo-catalogue.jsonl"
HAINING_TRANSPORT = {"id": "org-hn-jt", "name": "hn-jtysj", "title": "海宁市交通运输局"}
CITY_STATISTICS = {"id": "org-jx-tj", "name": "jx-tjj", "title": "嘉兴市统计局"}
PINGHU_EDUCATION = {"id": "org-ph-jy", "name": "ph-jyj", "title": "平湖市教育局"}
TONGXIANG_HEALTH = {"id": "org-tx-wj", "name": "tx-wjj", "title": "桐乡市卫生健康局"}
ROUTES = [
    ("get", "/admin/sync/"),
    ("post", "/admin/sync/start"),
    ("get", "/admin/sync/runs/{run_id}"),
    ("get", "/admin/sync/health"),
    ("post", "/admin/sync/health"),
]


@pytest.fixture
def app(app, tmp_path):
    """The shared app, syncing in the request unless a test says otherwise, with no retries.

    The web may only sync dumps from one folder: here the test's own, holding a copy of the demo dump.
    """
    app.config.update(
        SYNC_IN_BACKGROUND=False,
        SYNC_RETRIES=0,
        SYNC_BACKOFF=0,
        CKAN_URL=None,
        SYNC_WEB_DUMP_FOLDER=str(tmp_path),
    )
    shutil.copy(SEEDED_DEMO, tmp_path / "demo.jsonl")
    return app


@pytest.fixture
def demo(tmp_path) -> Path:
    return tmp_path / "demo.jsonl"


def package(n: int, org: dict, **fields) -> dict:
    return {
        "id": f"0000000{n}-aaaa-4bbb-8ccc-ddddeeeeffff",
        "name": f"dataset-{n}",
        "title": f"公交线路数据{n}",
        "notes": "测试数据集",
        "metadata_created": "2025-01-02T03:04:05.000000",
        "metadata_modified": f"2026-03-01T10:00:{n:02d}.000000",
        "organization": org,
        "resources": [],
        "tags": [{"name": "交通"}],
        "groups": [],
        "extras": [{"key": "open_condition", "value": "无条件开放"}],
        **fields,
    }


def write_dump(path: Path, packages: list[dict], *, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(p, ensure_ascii=False) for p in packages] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def make_run(status: str = SUCCEEDED, **fields) -> SyncRun:
    source = db.session.scalar(select(SyncSource).where(SyncSource.location == "/srv/嘉兴.jsonl"))
    if source is None:
        source = SyncSource(location="/srv/嘉兴.jsonl")
    sync_run = SyncRun(source=source, status=status, **fields)
    db.session.add(sync_run)
    db.session.flush()
    return sync_run


def rows_of(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]*)"', html)


def cell(html: str, organization: str, key: str) -> str:
    row = re.search(rf'<tr data-organization="{re.escape(organization)}">(.*?)</tr>', html, re.S).group(1)
    value = re.search(rf'data-count="{key}">(?:<span class="badge off">)?([+\-]?\d+)', row).group(1)
    return value


# -- permissions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("role", ["county_member", "judge", "developer"])
def test_other_roles_may_not_use_the_sync_pages(demo, client, login, method, path, role):
    sync_run = make_run()
    login(role)
    response = getattr(client, method)(path.format(run_id=sync_run.id), data={"source": str(demo)})
    assert response.status_code == 403
    assert count(SyncRun) == 1


@pytest.mark.parametrize("method, path", ROUTES)
def test_anonymous_is_sent_to_sign_in_from_the_sync_pages(demo, client, method, path):
    sync_run = make_run()
    db.session.commit()
    response = getattr(client, method)(path.format(run_id=sync_run.id), data={"source": str(demo)})
    assert response.status_code == 302
    assert "/account/sign-in" in response.headers["Location"]
    assert count(SyncRun) == 1


@pytest.mark.parametrize(
    "method, path, status", [(m, p, 302 if p.endswith("/start") else 200) for m, p in ROUTES]
)
def test_admin_uses_every_sync_page(client, login, tmp_path, method, path, status):
    sync_run = make_run()
    login("admin")
    dump = write_dump(tmp_path / "dump.jsonl", [package(1, HAINING_TRANSPORT)])
    data = {"source": str(dump)}
    if method == "get":
        response = client.get(path.format(run_id=sync_run.id), query_string=data)
    else:
        response = client.post(path, data=data)
    assert response.status_code == status


# -- starting a sync ---------------------------------------------------------------------------------


def test_admin_starts_a_sync_of_the_demo_catalogue_and_it_publishes_every_dataset(demo, client, login):
    admin = login("admin")
    response = client.post("/admin/sync/start", data={"source": str(demo)})  # mirror unticked
    sync_run = db.session.scalar(select(SyncRun))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/sync/runs/{sync_run.id}")
    assert (sync_run.status, sync_run.seen, sync_run.created, sync_run.failed) == (SUCCEEDED, 353, 353, 0)
    assert (sync_run.full, sync_run.mirror, sync_run.started_by_id) == (False, False, admin.id)
    assert sync_run.source.location == str(demo)
    assert count(Dataset, Dataset.state == PUBLISHED) == 353
    assert lock.holder() is None


def test_start_records_full_and_mirror_as_ticked(client, login, tmp_path):
    login("admin")
    dump = write_dump(tmp_path / "dump.jsonl", [package(1, HAINING_TRANSPORT), package(2, CITY_STATISTICS)])
    client.post("/admin/sync/start", data={"source": str(dump), "full": "1", "mirror": "1"})
    sync_run = db.session.scalar(select(SyncRun))
    assert (sync_run.full, sync_run.mirror, sync_run.status, sync_run.created) == (True, True, SUCCEEDED, 2)


def test_start_without_a_source_reads_ckan_url(app, client, login, tmp_path):
    login("admin")
    dump = write_dump(tmp_path / "dump.jsonl", [package(n, HAINING_TRANSPORT) for n in range(1, 4)])
    with serve(FakeCkan.from_dump(dump)) as url:
        app.config["CKAN_URL"] = url
        response = client.post("/admin/sync/start", data={"source": "", "mirror": "1"})
    sync_run = db.session.scalar(select(SyncRun))
    assert response.status_code == 302
    assert (sync_run.source.location, sync_run.status, sync_run.created) == (url, SUCCEEDED, 3)


def test_second_start_while_a_sync_holds_the_lock_is_refused(demo, client, login):
    login("admin")
    client.set_cookie("lang", "en")
    lock.acquire()
    response = client.post("/admin/sync/start", data={"source": str(demo)})
    assert response.status_code == 409
    assert "Another sync is running; try again when it has finished." in response.get_data(as_text=True)
    assert count(SyncRun) == 0
    assert count(Dataset) == 0
    assert lock.holder() is not None  # the running sync keeps its lock


def test_start_from_a_missing_dump_file_shows_why_and_records_no_run(client, login, tmp_path):
    login("admin")
    client.set_cookie("lang", "en")
    response = client.post("/admin/sync/start", data={"source": str(tmp_path / "缺失.jsonl")})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="flash flash-error"' in html
    assert "Only the dump files offered in the list can be read from the web." in html
    assert (count(SyncRun), count(SyncSource)) == (0, 0)
    assert lock.holder() is None


def test_start_without_source_or_ckan_url_asks_for_one(client, login):
    login("admin")
    client.set_cookie("lang", "en")
    response = client.post("/admin/sync/start", data={"source": "  "})
    assert response.status_code == 400
    assert "No source: choose a dump file or type a CKAN URL, or set CKAN_URL." in response.get_data(
        as_text=True
    )
    assert count(SyncRun) == 0


def test_start_in_the_background_returns_at_once_and_the_run_finishes(app, client, login, tmp_path):
    app.config["SYNC_IN_BACKGROUND"] = True
    login("admin")
    dump = write_dump(tmp_path / "dump.jsonl", [package(n, CITY_STATISTICS) for n in range(1, 6)])
    response = client.post("/admin/sync/start", data={"source": str(dump)})
    run_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert response.status_code == 302
    sync_run = _wait_until_finished(run_id)
    assert (sync_run.status, sync_run.created, sync_run.failed) == (SUCCEEDED, 5, 0)
    assert count(Dataset, Dataset.state == PUBLISHED) == 5
    assert lock.holder() is None


def test_background_run_whose_source_vanished_fails_releases_the_lock_and_logs(app, tmp_path, caplog):
    dump = write_dump(tmp_path / "dump.jsonl", [package(1, CITY_STATISTICS)])
    started = run.start(remote.DumpSource(dump), run.Settings())
    dump.unlink()
    thread = background.launch(app, started.id, str(dump), False, False)
    thread.join(timeout=10)
    db.session.commit()
    db.session.refresh(started)
    assert not thread.is_alive()
    assert started.status == FAILED
    assert "no such dump file" in started.message
    assert lock.holder() is None
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert f"sync run {started.id} failed" in logged


def _wait_until_finished(run_id: int, timeout: float = 10.0) -> SyncRun:
    """Poll without holding a transaction open, then join the worker thread."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.commit()
        db.session.remove()
        sync_run = db.session.get(SyncRun, run_id)
        if sync_run.status != RUNNING and lock.holder() is None:
            break
        assert time.monotonic() < deadline, f"sync run {run_id} still {sync_run.status} after {timeout}s"
        time.sleep(0.05)
    for thread in threading.enumerate():
        if thread.name == f"sync-run-{run_id}":
            thread.join(timeout=timeout)
    return sync_run


# -- runs and their errors ---------------------------------------------------------------------------


def test_run_page_lists_the_errors_of_malformed_packages(client, login, tmp_path):
    login("admin")
    broken = package(3, HAINING_TRANSPORT, name="broken-resources", resources={"not": "a list"})
    dump = write_dump(
        tmp_path / "dump.jsonl",
        [package(1, HAINING_TRANSPORT), package(2, CITY_STATISTICS), broken],
        extra_lines=("{这一行不是 JSON",),
    )
    client.post("/admin/sync/start", data={"source": str(dump)})
    sync_run = db.session.scalar(select(SyncRun))
    html = client.get(f"/admin/sync/runs/{sync_run.id}").get_data(as_text=True)
    assert (sync_run.status, sync_run.created, sync_run.failed) == ("partial", 2, 2)
    assert len(rows_of(html, "data-error")) == 2
    assert "<td>broken-resources</td><td>—</td><td>validate</td><td>resources is not a list</td>" in html
    assert "<td>read</td><td>line 4 is not JSON</td>" in html
    assert re.search(r'data-counter="failed"><strong>2</strong>', html)
    assert 'http-equiv="refresh"' not in html


def test_run_page_refreshes_while_the_run_is_running(client, login):
    running = make_run(status=RUNNING)
    login("admin")
    html = client.get(f"/admin/sync/runs/{running.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in html
    assert 'data-status="running"' in html


def test_run_errors_come_fifty_to_a_page(client, login):
    sync_run = make_run(status="partial")
    db.session.add_all(
        SyncError(run=sync_run, package=f"数据集-{n}", stage="write", message="写入失败") for n in range(60)
    )
    login("admin")
    first = client.get(f"/admin/sync/runs/{sync_run.id}").get_data(as_text=True)
    second = client.get(f"/admin/sync/runs/{sync_run.id}?page=2").get_data(as_text=True)
    assert (len(rows_of(first, "data-error")), len(rows_of(second, "data-error"))) == (50, 10)
    assert f"/admin/sync/runs/{sync_run.id}?page=2" in first


def test_unknown_run_is_not_found(client, login):
    login("admin")
    assert client.get("/admin/sync/runs/999").status_code == 404


def test_runs_are_listed_newest_first_twenty_five_to_a_page(client, login):
    ids = [make_run(seen=n, created=n).id for n in range(30)]
    login("admin")
    first = client.get("/admin/sync/").get_data(as_text=True)
    second = client.get("/admin/sync/?page=2").get_data(as_text=True)
    assert rows_of(first, "data-run") == [str(i) for i in reversed(ids[5:])]
    assert rows_of(second, "data-run") == [str(i) for i in reversed(ids[:5])]


def test_runs_page_shows_an_empty_state_before_the_first_run(client, login):
    login("admin")
    html = client.get("/admin/sync/").get_data(as_text=True)
    assert 'class="empty-state"' in html
    assert 'data-testid="sync-busy"' not in html


def test_runs_page_says_when_a_sync_is_running(client, login):
    running = make_run(status=RUNNING)
    login("admin")
    lock.acquire(running.id)
    html = client.get("/admin/sync/").get_data(as_text=True)
    assert 'data-testid="sync-busy"' in html
    assert f'href="/admin/sync/runs/{running.id}"' in html


# -- health ------------------------------------------------------------------------------------------


@pytest.fixture
def synced(app, tmp_path):
    """Publish 3 datasets of 海宁 transport, 2 of city statistics and 1 of 桐乡 health; withdraw one."""
    packages = [package(n, HAINING_TRANSPORT) for n in (1, 2, 3)]
    packages += [package(n, CITY_STATISTICS) for n in (4, 5)] + [package(6, TONGXIANG_HEALTH)]
    finished = run.sync(remote.DumpSource(write_dump(tmp_path / "synced.jsonl", packages)), run.Settings())
    assert finished.created == 6
    db.session.execute(update(Dataset).where(Dataset.name == "dataset-1").values(state=WITHDRAWN))
    db.session.commit()


@pytest.fixture
def ckan_dump(tmp_path) -> Path:
    """CKAN now holds 4 of 海宁 transport, 1 of city statistics, 1 of 平湖 education, 1 of 桐乡 health."""
    packages = [package(n, HAINING_TRANSPORT) for n in (1, 2, 3, 7)]
    packages += [package(4, CITY_STATISTICS), package(8, PINGHU_EDUCATION), package(6, TONGXIANG_HEALTH)]
    return write_dump(tmp_path / "ckan.jsonl", packages)


def test_compare_counts_each_organization_in_ckan_against_published_datasets(synced, ckan_dump):
    rows = health.compare(remote.DumpSource(ckan_dump))
    found = [(r.organization, r.in_ckan, r.published, r.difference, r.title, r.region) for r in rows]
    assert found == [
        ("hn-jtysj", 4, 2, 2, "海宁市交通运输局", "海宁市"),
        ("jx-tjj", 1, 2, -1, "嘉兴市统计局", "嘉兴市"),
        ("ph-jyj", 1, 0, 1, "", ""),  # never synced: no department here yet
        ("tx-wjj", 1, 1, 0, "桐乡市卫生健康局", "桐乡市"),
    ]
    summed = health.total(rows)
    assert (summed.in_ckan, summed.published, summed.difference) == (7, 5, 2)


def test_compare_counts_published_datasets_without_a_department(synced, ckan_dump, tmp_path):
    write_dump(tmp_path / "orphan.jsonl", [package(9, None)])
    run.sync(remote.DumpSource(tmp_path / "orphan.jsonl"), run.Settings())
    rows = {r.organization: r for r in health.compare(remote.DumpSource(ckan_dump))}
    assert (rows[""].in_ckan, rows[""].published) == (0, 1)


class _RefusingCkan:
    def counts_by_organization(self) -> dict[str, int]:
        raise ckanapi.NotAuthorized("Access denied: 需要登录")


def test_compare_reports_a_ckan_that_refuses_as_unavailable(app):
    with pytest.raises(remote.SourceUnavailable, match="NotAuthorized"):
        health.compare(_RefusingCkan())


def test_health_page_compares_a_live_ckan_with_the_portal(app, client, login, synced, ckan_dump):
    login("admin")
    with serve(FakeCkan.from_dump(ckan_dump)) as url:
        app.config["CKAN_URL"] = url
        response = client.post("/admin/sync/health", data={"source": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert rows_of(html, "data-organization") == ["hn-jtysj", "jx-tjj", "ph-jyj", "tx-wjj", "*total*"]
    assert [cell(html, "hn-jtysj", k) for k in ("in_ckan", "published", "difference")] == ["4", "2", "+2"]
    assert [cell(html, "jx-tjj", k) for k in ("in_ckan", "published", "difference")] == ["1", "2", "-1"]
    assert [cell(html, "*total*", k) for k in ("in_ckan", "published", "difference")] == ["7", "5", "+2"]
    assert html.count('class="badge off"') == 4  # three differing rows and the total
    assert "海宁市交通运输局</td>\n      <td>海宁市</td>" in html


def test_health_check_reads_a_dump_named_in_the_form(client, login, synced, ckan_dump):
    login("admin")
    html = client.post("/admin/sync/health", data={"source": str(ckan_dump)}).get_data(as_text=True)
    assert cell(html, "tx-wjj", "difference") == "0"


def test_health_page_says_when_ckan_cannot_be_reached(app, client, login, ckan_dump):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("127.0.0.1",)  # the fake CKAN is on loopback
    login("admin")
    fake = FakeCkan.from_dump(ckan_dump)
    fake.fail_next("package_search", status=500, times=10)
    with serve(fake) as url:
        response = client.post("/admin/sync/health", data={"source": url})
    html = response.get_data(as_text=True)
    assert response.status_code == 502
    assert 'data-testid="health-problem"' in html
    assert "package_search" in html
    assert "data-organization" not in html


def test_health_page_says_when_the_url_is_not_a_ckan(app, client, login, ckan_dump):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("127.0.0.1",)  # the fake CKAN is on loopback
    login("admin")
    with serve(FakeCkan.from_dump(ckan_dump)) as url:
        response = client.post("/admin/sync/health", data={"source": url + "/no/such/site"})
    assert response.status_code == 502
    assert 'data-testid="health-problem"' in response.get_data(as_text=True)


def test_health_page_refuses_a_dump_file_that_is_not_offered(client, login, tmp_path):
    login("admin")
    response = client.post("/admin/sync/health", data={"source": str(tmp_path / "缺失.jsonl")})
    assert response.status_code == 400
    assert "网页上只能读取列表中提供的转储文件" in response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["get", "post"])
def test_health_page_without_any_source_asks_for_one(app, client, login, tmp_path, method):
    (tmp_path / "empty").mkdir()
    app.config["SYNC_WEB_DUMP_FOLDER"] = str(tmp_path / "empty")  # no dump offered, no CKAN_URL
    login("admin")
    response = getattr(client, method)("/admin/sync/health", data={"source": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="empty-state"' in html
    assert "data-organization" not in html


def test_health_page_on_get_reads_nothing_and_offers_the_configured_ckan(app, client, login, ckan_dump):
    login("admin")
    fake = FakeCkan.from_dump(ckan_dump)
    with serve(fake) as url:
        app.config["CKAN_URL"] = url
        response = client.get("/admin/sync/health", query_string={"source": url})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fake.calls == []
    assert re.search(
        r'<form class="filters" method="post"[^>]*>\s*<input type="hidden" name="csrf_token"', html
    )
    assert f'<option value="{url}" data-kind="ckan" selected>' in html
    assert 'data-testid="health-not-checked"' in html and "data-organization" not in html


def test_health_page_remembers_the_source_last_checked(client, login, synced, ckan_dump):
    login("admin")
    client.post("/admin/sync/health", data={"source": str(ckan_dump)})
    html = client.get("/admin/sync/health").get_data(as_text=True)
    assert f'<option value="{ckan_dump}" data-kind="dump" selected>' in html


def test_health_check_without_its_csrf_token_is_refused_and_reads_nothing(app, client, login, ckan_dump):
    app.config.update(WTF_CSRF_ENABLED=True, CKAN_URL=None)
    login("admin")
    fake = FakeCkan.from_dump(ckan_dump)
    with serve(fake) as url:
        app.config["CKAN_URL"] = url
        refused = client.post("/admin/sync/health", data={"source": url})
        assert (refused.status_code, fake.calls) == (400, [])
        page = client.get("/admin/sync/health").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        checked = client.post("/admin/sync/health", data={"source": url, "csrf_token": token})
    assert checked.status_code == 200 and fake.calls


@pytest.mark.parametrize(
    "source, reason",
    [
        ("http://10.0.0.1/", "10.0.0.1: private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254: link-local address"),
        ("http://[::1]:5000/", "::1: loopback address"),
        ("http://[fd00::5]/", "fd00::5: private address"),
        ("http://100.64.0.9/", "100.64.0.9: carrier-grade NAT address"),
    ],
)
def test_health_check_refuses_a_non_public_address_with_a_clear_message(
    client, login, monkeypatch, source, reason
):
    connections = record_connections(monkeypatch)
    login("admin")
    response = client.post("/admin/sync/health", data={"source": source})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    problem = re.search(r'data-testid="health-problem">([^<]*)<', html).group(1)
    assert problem.startswith("无法读取数据源：refused ")  # "The source cannot be read: refused …"
    assert f"refused {reason}" in problem and "OUTBOUND_ALLOWED_HOSTS" in problem
    assert connections == []


def test_health_check_refuses_a_ckan_on_loopback_that_is_not_allowed(client, login, ckan_dump):
    login("admin")
    fake = FakeCkan.from_dump(ckan_dump)
    with serve(fake) as url:
        response = client.post("/admin/sync/health", data={"source": url})
        by_name = client.post("/admin/sync/health", data={"source": url.replace("127.0.0.1", "localhost")})
    assert (response.status_code, by_name.status_code) == (400, 400)
    assert "127.0.0.1: loopback address" in response.get_data(as_text=True)
    assert "localhost (127.0.0.1): loopback address" in by_name.get_data(as_text=True)
    assert fake.calls == []


def test_health_check_gives_up_after_its_short_timeout(app, client, login, ckan_dump):
    app.config.update(SYNC_HEALTH_TIMEOUT=0.3, SYNC_TIMEOUT=30, SYNC_RETRIES=4)
    login("admin")
    fake = FakeCkan.from_dump(ckan_dump)
    fake.hang_next("*", seconds=10, times=10)
    with serve(fake) as url:
        app.config["CKAN_URL"] = url
        started = time.monotonic()
        response = client.post("/admin/sync/health", data={"source": ""})
        took = time.monotonic() - started
    assert response.status_code == 502
    assert "ReadTimeout" in response.get_data(as_text=True)
    assert took < 3 and len(fake.calls) == 1  # one try, cut at 0.3 s: no retries, not SYNC_TIMEOUT


def test_start_refuses_a_ckan_url_on_a_private_address(client, login, monkeypatch):
    connections = record_connections(monkeypatch)
    login("admin")
    response = client.post("/admin/sync/start", data={"source": "http://192.168.0.10:5000/"})
    assert response.status_code == 400
    assert "192.168.0.10: private address" in response.get_data(as_text=True)
    assert count(SyncRun) == 0 and connections == []


def test_admin_home_links_to_the_sync_pages(client, login):
    login("admin")
    assert 'href="/admin/sync/"' in client.get("/admin/").get_data(as_text=True)


def test_start_refuses_a_dump_outside_the_allowed_folder(client, login, tmp_path):
    login("admin")
    response = client.post("/admin/sync/start", data={"source": str(SEEDED_DEMO)})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0


# -- choosing the source (issue 19 item 14) ----------------------------------------------------------


def options_of(html: str) -> list[tuple[str, str]]:
    select = re.search(r'<select id="source" name="source"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>\s*([^<]*?)\s*</option>', select)


@pytest.mark.parametrize("path", ["/admin/sync/", "/admin/sync/health"])
def test_sync_pages_offer_the_configured_ckan_the_demo_dump_and_another_url(app, client, login, path):
    app.config.update(
        CKAN_URL="https://ckan.jiaxing.example/", SYNC_WEB_DUMP_FOLDER=str(SEEDED_DEMO.parent.parent)
    )
    login("admin")
    client.set_cookie("lang", "en")
    html = client.get(path).get_data(as_text=True)
    assert options_of(html) == [
        ("https://ckan.jiaxing.example/", "Configured CKAN: https://ckan.jiaxing.example/"),
        (str(SEEDED_DEMO), "Demo catalogue dump: catalogue/demo-catalogue.jsonl"),
        ("other", "Other CKAN URL (type it in)"),
    ]
    assert '<input id="source_url" type="url" name="source_url"' in html


def test_without_ckan_url_the_demo_dump_is_offered_first_in_chinese(app, client, login):
    app.config.update(SYNC_WEB_DUMP_FOLDER=str(SEEDED_DEMO.parent.parent))
    login("admin")
    html = client.get("/admin/sync/").get_data(as_text=True)
    assert options_of(html) == [
        (str(SEEDED_DEMO), "演示目录转储：catalogue/demo-catalogue.jsonl"),
        ("other", "其他 CKAN 地址（请在下方填写）"),
    ]


def test_choosing_the_offered_demo_dump_starts_a_sync_from_it(app, client, login):
    app.config.update(SYNC_WEB_DUMP_FOLDER=str(SEEDED_DEMO.parent.parent))
    login("admin")
    offered = options_of(client.get("/admin/sync/").get_data(as_text=True))[0][0]
    response = client.post("/admin/sync/start", data={"source": offered})
    sync_run = db.session.scalar(select(SyncRun))
    assert response.status_code == 302
    assert (sync_run.source.location, sync_run.status, sync_run.created) == (str(SEEDED_DEMO), SUCCEEDED, 353)


def test_an_offered_dump_named_by_another_spelling_of_its_path_is_read(demo, client, login, tmp_path):
    login("admin")
    (tmp_path / "子目录").mkdir()
    response = client.post(
        "/admin/sync/start", data={"source": str(tmp_path / "子目录" / ".." / "demo.jsonl")}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(SyncRun)).source.location == str(demo)


@pytest.mark.parametrize(
    "data",
    [
        {"source": "/etc/passwd"},
        {"source": "other", "source_url": "/etc/passwd"},
        {"source": "other", "source_url": "../../etc/passwd"},
        {"source": "other", "source_url": "file:///etc/passwd"},
        {"source": "other", "source_url": str(SEEDED_DEMO)},  # a real dump, but not in the offered folder
        {"source": "/tmp/\x00.jsonl"},  # refused with any form holding a NUL (errors.refuse_nul)
    ],
)
@pytest.mark.parametrize("path", ["/admin/sync/start", "/admin/sync/health"])
def test_a_server_path_that_is_not_offered_is_refused_and_read_nowhere(client, login, path, data):
    login("admin")
    client.set_cookie("lang", "en")
    response = client.post(path, data=data)
    assert response.status_code == 400
    if "\x00" not in data["source"]:
        assert "Only the dump files offered in the list can be read from the web." in response.get_data(
            as_text=True
        )
    assert count(SyncRun) == 0


def test_other_url_chosen_with_no_url_typed_is_refused(client, login):
    login("admin")
    client.set_cookie("lang", "en")
    response = client.post("/admin/sync/start", data={"source": "other", "source_url": "  "})
    assert response.status_code == 400
    assert "Type the URL of the CKAN to read." in response.get_data(as_text=True)
    assert count(SyncRun) == 0


def test_a_typed_other_url_passes_the_outbound_guard_first(client, login, monkeypatch):
    connections = record_connections(monkeypatch)
    login("admin")
    response = client.post("/admin/sync/start", data={"source": "other", "source_url": "http://10.0.0.1/"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "10.0.0.1: private address" in html
    assert 'value="http://10.0.0.1/"' in html  # the refused URL stays in its field
    assert count(SyncRun) == 0 and connections == []


def test_health_page_remembers_a_typed_url_as_other(client, login, monkeypatch):
    connections = record_connections(monkeypatch)
    login("admin")
    client.post("/admin/sync/health", data={"source": "other", "source_url": "http://10.0.0.1/ckan"})
    html = client.get("/admin/sync/health").get_data(as_text=True)
    assert '<option value="other" selected>' in html
    assert 'name="source_url" value="http://10.0.0.1/ckan"' in html
    assert connections == []
