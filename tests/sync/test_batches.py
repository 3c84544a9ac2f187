"""The sync writes by batches (issue 20 item 3): a batch's rows read ahead in a few statements, its writes
held back and flushed together, and the cases where what was read ahead no longer holds."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sync_factories import package, published, sync

from portal.catalogue.models import Dataset, Resource
from portal.extensions import SQLITE_MMAP_BYTES, db, set_sqlite_memory_map
from portal.sync import run


@contextlib.contextmanager
def statements():
    """Count the statements sent to the database while the block runs."""
    sent = []

    def count(*args):
        sent.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_full_sync_costs_no_statement_per_dataset(app, fake, ckan_url):
    """Per dataset, the sync once sent five statements (its row and its holder, its resources, then its
    insert, its resources', its search terms'); by batches it sends a few per 200 datasets."""
    for n in range(8, 401):
        fake.add_package(package(n, org="jx-xinban"))
    with statements() as sent:
        result = sync(ckan_url, full=True)
    assert (result.created, result.failed) == (400, 0)
    assert len(published()) == 400
    assert len(sent) / 400 < 0.25, f"{len(sent)} statements for 400 datasets"
    resources = db.session.scalar(select(db.func.count()).select_from(Resource))
    assert resources == 400  # each dataset's resource written, with its dataset's id


def test_a_batch_that_fails_to_flush_is_written_again_one_by_one(app, fake, ckan_url, monkeypatch):
    """A batch's rows are flushed together, so a row that fails fails the flush of all; the batch is then
    written again one dataset at a time, and only the dataset whose row fails is recorded as failed."""
    monkeypatch.setattr(run, "COMMIT_EVERY", 100)
    monkeypatch.setattr(run, "COMMIT_SECONDS", 3600.0)
    flush = run.Writer.flush
    broken = package(4)["id"]

    def refuse_four(self):
        if any(values["ckan_id"] == broken for _, values in self.new):
            raise ValueError("a row the database refuses")
        flush(self)

    monkeypatch.setattr(run.Writer, "flush", refuse_four)
    result = sync(ckan_url)
    assert (result.created, result.failed, result.seen, result.status) == (6, 1, 7, "partial")
    assert published() == {f"dataset-00{n}" for n in (1, 2, 3, 5, 6, 7)}
    assert [(e.package, e.stage) for e in result.errors] == [("dataset-004", "write")]
    assert (
        db.session.scalar(select(Resource.id).where(Resource.ckan_id == package(4)["resources"][0]["id"]))
        is None
    )


@pytest.mark.parametrize("first", ["giver", "taker"])
def test_a_resource_moving_between_two_packages_of_one_batch_lands_once(app, fake, ckan_url, first):
    """Package 1 hands its resource to package 2 in one change: whichever comes first in the batch, the
    rows read ahead for the other are stale, so they are read again after a flush."""
    sync(ckan_url)
    moved = package(1)["resources"][0]
    kept = package(2)["resources"][0]
    changes = {
        "giver": ("dataset-001", {"resources": []}),
        "taker": ("dataset-002", {"resources": [kept, moved]}),
    }
    for role in (first, "taker" if first == "giver" else "giver"):
        name, fields = changes[role]
        fake.update_package(name, **fields)
    result = sync(ckan_url)
    assert (result.updated, result.failed) == (2, 0)
    resource = db.session.scalar(select(Resource).where(Resource.ckan_id == moved["id"]))
    assert (resource.dataset.name, resource.state) == ("dataset-002", "active")
    giver = db.session.scalar(select(Dataset).where(Dataset.name == "dataset-001"))
    assert [r for r in giver.resources if r.state == "active"] == []


def test_a_package_renamed_onto_a_name_freed_in_the_same_batch(app, fake, ckan_url):
    """Package 1 takes a new name and package 2 takes package 1's old name, in one batch: the name's
    holder read ahead has moved, so package 2 is read again and takes the name without a clash."""
    sync(ckan_url)
    fake.update_package("dataset-001", name="dataset-renamed")
    fake.update_package("dataset-002", name="dataset-001")
    result = sync(ckan_url)
    assert (result.updated, result.failed) == (2, 0)
    names = dict(db.session.execute(select(Dataset.ckan_id, Dataset.name)).all())
    assert names[package(1)["id"]] == "dataset-renamed"
    assert names[package(2)["id"]] == "dataset-001"


def test_a_sync_runs_without_sqlites_memory_map_and_gives_it_back(app, fake, ckan_url, monkeypatch):
    """The mapped pages of a large SQLite file counted in the sync's resident memory (280 of 489 MB at
    100,000 datasets): the run turns the map off on its connection and sets it again after."""
    if db.engine.dialect.name != "sqlite":  # PostgreSQL has no such map: nothing is sent
        with statements() as sent:
            set_sqlite_memory_map(db.session, 0)
        assert not sent
        return
    seen = []
    flush = run.Writer.flush

    def look(self):
        seen.append(db.session.connection().exec_driver_sql("PRAGMA mmap_size").scalar())
        flush(self)

    monkeypatch.setattr(run.Writer, "flush", look)
    sync(ckan_url, full=True)
    assert seen and set(seen) == {0}
    after = db.session.connection().exec_driver_sql("PRAGMA mmap_size").scalar()
    assert after == SQLITE_MMAP_BYTES


def test_a_full_sync_asks_the_session_for_its_connection_by_batches(app, fake, ckan_url, monkeypatch):
    """Asking the session for its connection runs SQLAlchemy's transaction machinery (about 3 % of the
    sync's main thread under a profiler when each written package asked once): a package whose rows
    are held back does not ask, its batch does."""
    for n in range(8, 401):
        fake.add_package(package(n, org="jx-xinban"))
    asked = []
    connection = Session.connection

    def counted(self, *args, **kwargs):
        asked.append(1)
        return connection(self, *args, **kwargs)

    monkeypatch.setattr(Session, "connection", counted)
    result = sync(ckan_url, full=True)
    assert (result.created, result.failed) == (400, 0)
    assert len(asked) / 400 < 0.25, f"the session's connection asked for {len(asked)} times for 400 datasets"


AWKWARD = "制表\t换行\n回车\r反斜杠\\ \\N 引号\"' 逗号, |竖线| 😀 \\.\n"


def test_awkward_text_is_written_as_sent(app, fake, ckan_url):
    """On PostgreSQL a batch's new rows go in by COPY (sync/write.py `_copy`): tabs, line breaks,
    backslashes, COPY's own NULL and end markers and JSON extras come back as CKAN sent them."""
    resource = {"id": "r-awkward", "name": "表" + AWKWARD, "description": AWKWARD, "format": "CSV", "url": ""}
    fake.add_package(
        package(
            60,
            notes=AWKWARD,
            author=AWKWARD.strip()[:50],
            extras=[
                {"key": "k\t" + AWKWARD, "value": AWKWARD},
                {"key": "nested", "value": '{"a": [1, "\\\\"]}'},
            ],
            resources=[resource],
        )
    )
    result = sync(ckan_url, full=True)
    assert (result.created, result.failed) == (8, 0)
    db.session.expire_all()
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == "dataset-060"))
    assert dataset.notes == AWKWARD.strip() and dataset.author == AWKWARD.strip()[:50]
    assert dataset.extras == {"k\t" + AWKWARD: AWKWARD, "nested": '{"a": [1, "\\\\"]}'}
    assert dataset.rating_count == 0 and dataset.download_count == 0  # defaults filled in as an INSERT does
    stored = db.session.scalar(select(Resource).where(Resource.ckan_id == "r-awkward"))
    assert (stored.name, stored.description) == (("表" + AWKWARD).strip(), AWKWARD.strip())
    assert stored.dataset_id == dataset.id and stored.download_count == 0 and stored.is_valid is False
    assert stored.mirrored_at is None and stored.ckan_last_modified is None


def test_a_row_the_database_refuses_fails_its_dataset_alone(app, fake, ckan_url, monkeypatch):
    """A row the database itself refuses fails its batch's flush (on PostgreSQL, its COPY); the batch
    is written again one by one and only that dataset fails: a resource format longer than its column
    (the mapping cuts it to 50 characters: here the cut is undone to make the database refuse it)."""
    monkeypatch.setattr(run, "COMMIT_SECONDS", 3600.0)
    for n in range(8, 40):
        fake.add_package(package(n))
    values = run.resource_values

    def too_long(record, old):
        row = values(record, old)
        if record.ckan_id == package(20)["resources"][0]["id"]:
            row["format"] = "X" * 51 if db.engine.dialect.name == "postgresql" else None  # NOT NULL
        return row

    monkeypatch.setattr(run, "resource_values", too_long)
    result = sync(ckan_url, full=True)
    assert (result.created, result.failed) == (38, 1)
    assert "dataset-020" not in published() and len(published()) == 38
    resources = db.session.scalar(select(db.func.count()).select_from(Resource))
    assert resources == 38


def _snapshot() -> dict[str, list[tuple]]:
    """The rows the sync writes, each table's sorted, with row ids replaced by the CKAN ids they stand for
    (two runs give new rows new ids)."""
    from portal.catalogue.models import DatasetSearch, dataset_tags, dataset_themes
    from portal.sync.models import PersonalDataHold

    conn = db.session.connection()
    ckan_ids = dict(conn.execute(select(Dataset.id, Dataset.ckan_id)).all())
    tables = {
        "datasets": Dataset.__table__,
        "resources": Resource.__table__,
        "search": DatasetSearch.__table__,
        "themes": dataset_themes,
        "tags": dataset_tags,
        "holds": PersonalDataHold.__table__,
    }
    found = {}
    for label, table in tables.items():
        rows = []
        for row in conn.execute(select(table)).mappings():
            row = {k: ckan_ids.get(v, v) if k == "dataset_id" else v for k, v in row.items() if k != "id"}
            rows.append(tuple(sorted((k, repr(v)) for k, v in row.items())))
        found[label] = sorted(rows)
    return found


def test_bulk_rows_are_the_rows_sqlalchemy_inserts(app, fake, ckan_url, monkeypatch):
    """A batch's new rows go in through the driver (COPY on PostgreSQL, sqlite3's executemany on SQLite,
    sync/write.py `_bulk_plan`): every column of every row the same as SQLAlchemy's INSERTs write, with
    the same defaults and bound values (frozen clock; the sync written twice on emptied tables)."""
    from portal import clock
    from portal.catalogue.models import DatasetSearch, dataset_tags, dataset_themes
    from portal.sync import write
    from portal.sync.models import PersonalDataHold, SyncRun

    for n in range(8, 30):
        fake.add_package(
            package(
                n,
                notes=AWKWARD if n % 2 else "",
                groups=[{"name": "jtcx"}, {"name": "ylws"}][: 1 + n % 2],
                extras=[{"key": "open_condition", "value": "有条件开放" if n % 3 else ""}],
                resources=[
                    {"id": f"r-{n}-{i}", "name": f"表{i}", "format": "CSV", "url": "", "size": i or None,
                     "last_modified": "2024-01-02T03:04:05.678901"}
                    for i in range(n % 3)
                ],
            )
        )  # fmt: skip

    moment = clock.now().replace(microsecond=123456)

    def written() -> dict:
        with clock.frozen(moment):
            result = sync(ckan_url, full=True)
        assert (result.created, result.failed) == (29, 0)
        found = _snapshot()
        for table in (PersonalDataHold, DatasetSearch, dataset_tags, dataset_themes, Resource, Dataset):
            db.session.execute(table.delete() if hasattr(table, "delete") else db.delete(table))
        db.session.execute(db.delete(SyncRun))
        db.session.commit()
        return found

    bulk = written()
    monkeypatch.setattr(write, "_bulk_plan", lambda *args: None)  # SQLAlchemy's INSERTs instead
    assert written() == bulk
    assert len(bulk["datasets"]) == 29 and len(bulk["search"]) == 29 and len(bulk["resources"]) > 20
