"""The catalogue sync against a CKAN Action API served over HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ckanserver import serve
from sqlalchemy import func, select
from sync_factories import package, published, source, sync
from werkzeug.wrappers import Request, Response

from portal import storage
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL, Dataset, Department, Resource
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.sync import lock, remote, run
from portal.sync.models import SyncError, SyncLock, SyncRun, SyncSource


def test_full_sync_writes_datasets_with_their_departments_themes_and_tags(app, ckan_url):
    result = sync(ckan_url, full=True)
    assert (result.status, result.created, result.failed) == ("succeeded", 7, 0)
    assert len(published()) == 7
    regions = {d.name: (d.region.name, d.region_source) for d in db.session.scalars(select(Department))}
    assert regions == {
        "haining-jtj": ("海宁市", "extra"),
        "tongxiang-wjj": ("桐乡市", "title"),
        "jx-xinban": ("嘉兴市", "default"),
    }
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == "dataset-001"))
    assert [t.title for t in dataset.themes] == ["交通出行"]
    assert [t.name for t in dataset.tags] == ["公交", "站点"]
    assert dataset.open_condition == UNCONDITIONAL
    assert dataset.extras == {"update_frequency": "每月"}
    assert dataset.metadata_modified.tzinfo is not None


def test_open_condition_comes_from_the_extra(app, fake, ckan_url):
    fake.update_package("dataset-002", extras=[{"key": "open_condition", "value": "有条件开放"}])
    sync(ckan_url)
    conditions = dict(db.session.execute(select(Dataset.name, Dataset.open_condition)).all())
    assert conditions["dataset-002"] == CONDITIONAL
    assert conditions["dataset-001"] == UNCONDITIONAL


def test_second_run_with_nothing_changed_changes_nothing(app, ckan_url):
    sync(ckan_url)
    before = db.session.execute(select(Dataset.id, Dataset.last_synced_at)).all()
    again = sync(ckan_url)
    full = sync(ckan_url, full=True)
    assert (again.created, again.updated, again.withdrawn) == (0, 0, 0)
    assert (full.created, full.updated, full.withdrawn, full.unchanged) == (0, 0, 0, 7)
    db.session.expire_all()
    assert db.session.execute(select(Dataset.id, Dataset.last_synced_at)).all() == before


def test_incremental_sync_reads_only_what_changed_since_the_watermark(app, fake, ckan_url):
    first = sync(ckan_url)
    fake.update_package("dataset-003", title="交通运输站点（更新）")
    fake.add_package(package(50))
    fake.calls.clear()
    second = sync(ckan_url)
    assert (second.created, second.updated) == (1, 1)
    assert second.watermark_after > first.watermark_after
    searches = [c for c in fake.calls_to("package_search") if c.get("rows") != 0 and c.get("rows") != "0"]
    fq = searches[0]["fq"]
    margin_start = (first.watermark_after - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
    assert fq.startswith(f"metadata_modified:[{margin_start}") and fq.endswith("TO *]")
    assert searches[0]["sort"] == "metadata_modified asc"
    assert (
        db.session.scalar(select(Dataset.title).where(Dataset.name == "dataset-003"))
        == "交通运输站点（更新）"
    )


def test_paging_across_page_boundaries_takes_each_package_once(app, fake, ckan_url):
    for n in range(8, 26):
        fake.add_package(package(n))
    result = sync(source(ckan_url, rows=4), full=True)
    assert (result.created, result.seen, result.failed) == (25, 25, 0)
    rows = [c["rows"] for c in fake.calls_to("package_search") if str(c.get("rows")) != "0"]
    assert len(rows) >= 7


def test_a_package_modified_during_the_run_shifts_nothing_out(app, fake, ckan_url):
    for n in range(8, 20):
        fake.add_package(package(n))
    touched = []

    class ChangingWhilePaging(remote.CkanSource):  # an early package changes after page 1 is read
        def call(self, action, **params):
            result = super().call(action, **params)
            if action == "package_search" and params.get("rows") and not touched:
                touched.append(fake.update_package("dataset-001", title="中途修改"))
            return result

    result = sync(ChangingWhilePaging(ckan_url, timeout=5, retries=0, backoff=0, rows=3), full=True)
    assert result.failed == 0
    assert len(published()) == 19  # offset paging would have skipped the package shifted into page 1
    assert db.session.scalar(select(Dataset.title).where(Dataset.name == "dataset-001")) == "中途修改"


def test_deleted_and_private_datasets_are_withdrawn_then_restored(app, fake, ckan_url):
    sync(ckan_url)
    fake.delete_package("dataset-001")
    fake.make_private("dataset-002")
    result = sync(ckan_url, full=True)
    assert result.withdrawn == 2
    states = dict(db.session.execute(select(Dataset.name, Dataset.withdrawn_reason)).all())
    # anonymous CKAN answers 403 alike for deleted and private datasets
    assert states["dataset-001"] == states["dataset-002"] == "deleted_or_private"
    assert published() == {f"dataset-{n:03d}" for n in range(3, 8)}
    assert db.session.scalar(select(func.count()).select_from(Dataset)) == 7  # never hard-deleted
    fake.make_public("dataset-002")
    back = sync(ckan_url, full=True)
    assert back.restored == 1
    assert "dataset-002" in published()


def test_incremental_sync_does_not_withdraw(app, fake, ckan_url):
    sync(ckan_url)
    fake.delete_package("dataset-001")
    result = sync(ckan_url)
    assert result.withdrawn == 0 and "dataset-001" in published()


def test_malformed_package_is_recorded_and_skipped_and_the_watermark_stays(app, fake, ckan_url):
    fake.malform("dataset-004")
    result = sync(ckan_url)
    assert (result.status, result.created, result.failed) == ("partial", 6, 1)
    error = db.session.scalar(select(SyncError))
    assert (error.package, error.stage) == ("dataset-004", "validate")
    assert db.session.scalar(select(SyncSource.watermark)) is None


def test_server_errors_are_retried(app, fake, ckan_url):
    fake.fail_next("package_search", status=503, times=2)
    result = sync(source(ckan_url, retries=3))
    assert (result.status, result.created) == ("succeeded", 7)


def test_a_hang_past_the_timeout_is_retried(app, fake, ckan_url):
    fake.hang_next("package_search", seconds=3, times=1)
    result = sync(source(ckan_url, timeout=0.5, retries=2))
    assert (result.status, result.created) == ("succeeded", 7)


def test_after_the_last_retry_the_run_fails_cleanly_and_keeps_the_watermark(app, fake, ckan_url):
    first = sync(ckan_url)
    fake.update_package("dataset-001", title="新标题")
    fake.fail_next("package_search", status=500, times=2)
    failed = sync(source(ckan_url, retries=1))
    assert failed.status == "failed"
    assert "source unavailable" in failed.message
    assert db.session.scalar(select(SyncSource.watermark)) == first.watermark_after
    assert lock.holder() is None
    assert sync(ckan_url).updated == 1  # the next run picks the change up


def test_a_killed_run_loses_nothing_and_the_next_run_resumes(app, fake, ckan_url, monkeypatch):
    monkeypatch.setattr(run, "COMMIT_EVERY", 2)  # datasets are committed two by two
    src = source(ckan_url)
    settings = run.Settings()
    started = run.start(src, settings)

    def die(done, total):
        if done == 3:
            raise KeyboardInterrupt  # the process is killed mid-run, the third dataset not committed

    with pytest.raises(KeyboardInterrupt):
        run.execute(started, src, settings, progress=die)
    db.session.expire_all()
    assert len(published()) == 2
    killed = db.session.get(SyncRun, started.id)
    assert (killed.seen, killed.created) == (2, 2)  # the run's counters were committed with its datasets
    assert db.session.scalar(select(SyncSource.watermark)) is None
    resumed = sync(ckan_url)
    assert (resumed.unchanged, resumed.created, resumed.status) == (2, 5, "succeeded")
    assert db.session.get(SyncRun, started.id).status == "failed"


def test_a_failed_dataset_rolls_back_alone_and_its_batch_is_written_again(app, fake, ckan_url, monkeypatch):
    monkeypatch.setattr(run, "COMMIT_EVERY", 100)  # one batch: without a replay 001-003 would be lost
    monkeypatch.setattr(run, "COMMIT_SECONDS", 3600.0)
    write = run.Writer.write

    def fail_on_four(self, rec, *args, **kwargs):
        if rec.name == "dataset-004":
            raise ValueError("broken on purpose")
        return write(self, rec, *args, **kwargs)

    monkeypatch.setattr(run.Writer, "write", fail_on_four)
    result = sync(ckan_url)
    assert (result.created, result.failed, result.seen, result.status) == (6, 1, 7, "partial")
    assert published() == {f"dataset-00{n}" for n in (1, 2, 3, 5, 6, 7)}
    assert [(e.package, e.stage) for e in result.errors] == [("dataset-004", "write")]


def test_a_second_sync_is_refused_while_one_holds_the_lock(app, ckan_url):
    lock.acquire()
    with pytest.raises(lock.SyncBusy):
        sync(ckan_url)
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
    lock.release(None)


def test_a_stale_lock_of_a_dead_run_is_taken_over(app, ckan_url):
    lock.acquire()
    db.session.get(SyncLock, lock.NAME).heartbeat_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert sync(ckan_url).status == "succeeded"


def test_vanished_package_is_recorded_and_skipped(app, fake, ckan_url):
    sync(ckan_url)
    fake.vanish_on_show("dataset-005")

    class IndexLagging(remote.CkanSource):  # search lags behind package_list for one package
        def packages(self, since):
            return (p for p in super().packages(since) if p.get("name") != "dataset-005")

    result = sync(IndexLagging(ckan_url, timeout=5, retries=0, backoff=0), full=True)
    assert result.failed == 1 and result.withdrawn == 0
    assert db.session.scalar(select(SyncError.stage)) == "read"
    assert "dataset-005" in published()


def test_datastore_volume_excludes_the_id_field_and_full_rereads_it(app, fake, ckan_url):
    rid = "10000000-0000-4000-8000-000000000001"
    fake.set_datastore(rid, ["站点名称", "线路", "经度", "纬度"], 120)
    sync(ckan_url)
    resource = db.session.scalar(select(Resource).where(Resource.ckan_id == rid))
    assert (resource.records, resource.fields, resource.volume, resource.volume_source) == (
        120,
        4,
        480,
        "datastore",
    )
    assert resource.is_valid
    fake.set_datastore(rid, ["站点名称", "线路", "经度", "纬度"], 150)  # rows changed, metadata did not
    sync(ckan_url)
    db.session.refresh(resource)
    assert resource.records == 120
    sync(ckan_url, full=True)
    db.session.refresh(resource)
    assert resource.records == 150


# -- mirroring -----------------------------------------------------------------------------------


class FileServer:
    """Serves files from a dict over HTTP and counts the downloads."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}

    def __call__(self, environ, start_response):
        request = Request(environ)
        name = request.path.lstrip("/")
        self.hits[name] = self.hits.get(name, 0) + 1
        body = self.files.get(name)
        response = (
            Response(body, mimetype="text/csv") if body is not None else Response("missing", status=404)
        )
        return response(environ, start_response)


@pytest.fixture
def files(app):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("127.0.0.1",)  # the mirror refuses loopback unless allowed
    server = FileServer()
    with serve(server) as url:
        server.base = url
        yield server


def csv_resource(rid: str, url: str, **fields) -> dict:
    return {
        "id": rid,
        "name": "数据表",
        "format": "CSV",
        "url": url,
        "mimetype": "text/csv",
        "last_modified": "2025-01-01T00:00:00",
        **fields,
    }


def test_mirroring_stores_the_file_with_hash_and_counts_its_volume(app, fake, ckan_url, files, store):
    files.files["stops.csv"] = "站点,线路,电话\n南湖站,1路,13800000000\n秀洲站,2路,13900000000\n".encode()
    fake.add_package(package(60, resources=[csv_resource("r-60", f"{files.base}/stops.csv", size=10)]))
    result = sync(ckan_url, mirror=True, store=store)
    assert result.status == "succeeded"
    resource = db.session.scalar(select(Resource).where(Resource.ckan_id == "r-60"))
    assert resource.storage_key == "resources/00000000-0000-4000-8000-000000000060/r-60/stops.csv"
    assert resource.mirrored_size == len(files.files["stops.csv"])
    assert len(resource.sha256) == 64 and resource.content_type == "text/csv"
    assert (resource.records, resource.fields, resource.volume_source) == (2, 3, "file")
    with store.open(resource.storage_key) as stored:
        assert stored.read() == files.files["stops.csv"]


def test_mirroring_into_minio_streams_the_file_into_the_bucket(app, fake, ckan_url, files, s3_endpoint):
    from s3server import ACCESS_KEY, SECRET_KEY

    minio = storage.storage_from_url(
        f"minio://{ACCESS_KEY}:{SECRET_KEY}@{s3_endpoint}/mirror-sync", default_root="unused"
    )
    files.files["clinics.csv"] = "诊所,电话\n南湖诊所,0573-1234567\n".encode()
    fake.add_package(package(64, resources=[csv_resource("r-64", f"{files.base}/clinics.csv")]))
    assert sync(ckan_url, mirror=True, store=minio).status == "succeeded"
    resource = db.session.scalar(select(Resource).where(Resource.ckan_id == "r-64"))
    assert (resource.records, resource.fields, resource.volume_source) == (1, 2, "file")
    with minio.open(resource.storage_key) as stored:
        assert stored.read() == files.files["clinics.csv"]
    assert "X-Amz-Expires=300" in minio.url_for_download(resource.storage_key, filename="诊所.csv")


def test_unchanged_resources_are_not_downloaded_again(app, fake, ckan_url, files, store):
    files.files["a.csv"] = "名称,值\n甲,1\n".encode()
    fake.add_package(package(61, resources=[csv_resource("r-61", f"{files.base}/a.csv", size=5)]))
    sync(ckan_url, mirror=True, store=store)
    fake.update_package("dataset-061", title="标题改了，文件没改")
    sync(ckan_url, mirror=True, store=store)
    sync(ckan_url, mirror=True, store=store, full=True)
    assert files.hits["a.csv"] == 1
    files.files["a.csv"] = "名称,值\n甲,1\n乙,2\n".encode()
    fake.update_package(
        "dataset-061",
        resources=[csv_resource("r-61", f"{files.base}/a.csv", size=9, last_modified="2025-02-01T00:00:00")],
    )
    sync(ckan_url, mirror=True, store=store)
    assert files.hits["a.csv"] == 2
    assert db.session.scalar(select(Resource.records).where(Resource.ckan_id == "r-61")) == 2


def test_a_failing_or_oversized_resource_is_recorded_and_the_rest_goes_on(app, fake, ckan_url, files, store):
    files.files["big.csv"] = b"a,b\n" + b"1,2\n" * 1000
    files.files["ok.csv"] = "名称\n甲\n".encode()
    fake.add_package(
        package(
            62,
            resources=[
                csv_resource("r-missing", f"{files.base}/missing.csv"),
                csv_resource("r-big", f"{files.base}/big.csv"),
                csv_resource("r-ok", f"{files.base}/ok.csv"),
            ],
        )
    )
    result = sync(ckan_url, mirror=True, store=store, mirror_max_size=1000)
    resources = {r.ckan_id: r for r in db.session.scalars(select(Resource))}
    assert resources["r-ok"].storage_key and resources["r-ok"].is_valid
    assert resources["r-missing"].invalid_reason == "not_downloadable"
    assert "larger than" in resources["r-big"].mirror_error
    assert not store.exists("resources/00000000-0000-4000-8000-000000000062/r-big/big.csv")
    stages = set(db.session.scalars(select(SyncError.stage)))
    assert stages == {"mirror"} and result.created == 8


def test_duplicate_files_in_a_dataset_are_marked(app, fake, ckan_url, files, store):
    files.files["x.csv"] = "名称\n甲\n".encode()
    fake.add_package(
        package(
            63,
            resources=[
                csv_resource("r-x1", f"{files.base}/x.csv"),
                csv_resource("r-x2", f"{files.base}/x.csv?copy=1"),
            ],
        )
    )
    sync(ckan_url, mirror=True, store=store)
    reasons = dict(
        db.session.execute(
            select(Resource.ckan_id, Resource.invalid_reason).where(Resource.ckan_id.in_(["r-x1", "r-x2"]))
        ).all()
    )
    assert reasons == {"r-x1": None, "r-x2": "duplicate"}


# -- the dump file and the command -----------------------------------------------------------------


def test_demo_dump_syncs_through_the_same_code_with_volume_from_local_files(app, store):
    from portal.seeding import DEMO_CATALOGUE

    result = run.sync(remote.DumpSource(DEMO_CATALOGUE), run.Settings(mirror=True), store=store)
    assert (result.status, result.failed) == ("succeeded", 0)
    assert result.created >= 300
    measured = db.session.scalar(select(func.count()).where(Resource.volume_source == "file"))
    assert measured > 300
    assert db.session.scalar(select(func.count(func.distinct(Department.region_id)))) == 8


def test_broken_dump_line_is_recorded(app, tmp_path):
    import json

    dump = tmp_path / "dump.jsonl"
    good = package(
        1, groups=[{"id": "g", "name": "jtcx", "title": "交通出行"}], metadata_modified="2025-01-01T00:00:00"
    )
    good["organization"] = {"id": "org-jx", "name": "jx-dsjj", "title": "嘉兴市大数据发展管理局"}
    dump.write_text(json.dumps(good, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    result = run.sync(remote.DumpSource(dump), run.Settings())
    assert (result.created, result.failed, result.status) == (1, 1, "partial")


def test_sync_command_prints_a_summary_and_fails_on_a_failed_run(app, runner, fake, ckan_url):
    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("127.0.0.1",)  # a --source on loopback must be allowed
    ok = runner.invoke(args=["ckan", "sync", "--source", ckan_url, "--no-mirror"])
    assert ok.exit_code == 0, ok.output
    assert "7 created" in ok.output
    app.config.update(SYNC_RETRIES=0)
    fake.fail_next("*", status=500, times=50)
    bad = runner.invoke(args=["ckan", "sync", "--source", ckan_url, "--no-mirror"])
    assert bad.exit_code != 0
    assert "failed" in bad.output


def test_sync_command_needs_a_source(runner):
    result = runner.invoke(args=["ckan", "sync"])
    assert result.exit_code != 0
    assert "CKAN_URL" in result.output


def test_a_run_that_lost_its_lock_stops_and_frees_nothing(app, ckan_url):
    started = run.start(source(ckan_url), run.Settings())
    db.session.get(SyncLock, lock.NAME).run_id = None  # a newer run took the stale lock over
    db.session.commit()
    with pytest.raises(lock.LockLost):
        lock.beat(started.id)
    lock.release(started.id)
    assert lock.holder() is not None


def test_a_package_written_twice_before_a_commit_keeps_one_set_of_links(app, fake):
    from portal.sync.mapping import parse_package

    writer = run.Writer(organizations={}, seed_codes={})
    rec = parse_package(fake.get_package("dataset-001"))
    for _ in range(2):  # as when CKAN changes it during the run: it comes again in the same batch
        old, old_resources = writer.existing(rec)
        resources = [run.resource_values(r, old_resources.get(r.ckan_id)) for r in rec.resources]
        writer.write(rec, old, resources, old_resources, utcnow())
    writer.flush()
    db.session.commit()
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == "dataset-001"))
    themes, tags = [t.title for t in dataset.themes], sorted(t.name for t in dataset.tags)
    assert (themes, tags) == (["交通出行"], ["公交", "站点"])
