"""A withdrawn resource loses its rows in the same sync (issue 15): its dataset regraded to 3 or 4, deleted
in CKAN, or the resource dropped from its package; a table that cannot be dropped is retried by the next run.
Against the fake CKAN's DataStore over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rows_factories import STOPS, TOILETS, TYPED
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.rows import retire, store
from portal.rows.models import RowTable
from portal.sync import remote, run
from portal.sync.models import SyncError

STOPS_DATASET, TYPED_DATASET = "rows-dataset-1", "rows-dataset-4"


@pytest.fixture
def tables(app):
    """Drop whatever row tables a test left."""
    yield
    db.session.rollback()
    for row_table in db.session.scalars(select(RowTable)):
        store.drop(db.session.connection(), row_table.table_name)
    db.session.commit()


def sync(url: str, *, full: bool = False):
    source = remote.CkanSource(url, timeout=5, retries=1, backoff=0)
    return run.sync(source, run.Settings(full=full, rows=True))


def row_table(ckan_id: str) -> RowTable | None:
    db.session.expire_all()
    return db.session.scalar(select(RowTable).join(RowTable.resource).where(Resource.ckan_id == ckan_id))


def exists(table_name: str) -> bool:
    """Whether the database still holds the table (under its schema on PostgreSQL)."""
    conn = db.session.connection()
    dialect = conn.dialect.name
    schema = store.SCHEMA if dialect == "postgresql" else None
    return sa.inspect(conn).has_table(store.physical_name(table_name, dialect), schema=schema)


def dropped_rows() -> list[tuple[str, str]]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "resource.rows_dropped"))
    return [(e.object_id, e.after["reason"]) for e in events]


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_dataset_regraded_to_3_or_4_loses_its_rows_in_the_same_sync(app, fake, ckan_url, tables, full):
    sync(ckan_url, full=True)
    loaded = row_table(STOPS)
    assert loaded is not None and loaded.records == 250 and exists(loaded.table_name)
    fake.update_package(STOPS_DATASET, extras=[{"key": "data_level", "value": "3" if full else "4"}])
    sync(ckan_url, full=full)
    assert row_table(STOPS) is None and not exists(loaded.table_name)
    assert dropped_rows() == [(STOPS, "data_level")]
    assert row_table(TYPED) is not None  # the others keep theirs


def test_a_dataset_deleted_in_ckan_loses_its_rows_at_the_full_sync(app, fake, ckan_url, tables):
    sync(ckan_url, full=True)
    name = row_table(TYPED).table_name
    fake.delete_package(TYPED_DATASET)
    sync(ckan_url, full=True)
    assert row_table(TYPED) is None and not exists(name)
    assert dropped_rows() == [(TYPED, "deleted_or_private")]  # CKAN answers 403 for both


def test_a_resource_dropped_from_its_package_loses_its_rows(app, fake, ckan_url, tables):
    sync(ckan_url, full=True)
    name = row_table(TYPED).table_name
    fake.update_package(TYPED_DATASET, resources=[])
    sync(ckan_url)
    assert row_table(TYPED) is None and not exists(name)
    assert dropped_rows() == [(TYPED, "resource_removed")]


def test_a_dataset_withheld_from_the_start_never_has_its_rows_loaded(app, fake, ckan_url, tables):
    fake.update_package(STOPS_DATASET, extras=[{"key": "data_level", "value": "4"}])
    sync(ckan_url, full=True)
    assert db.session.scalar(select(Dataset.state).where(Dataset.name == STOPS_DATASET)) == "withdrawn"
    assert row_table(STOPS) is None and row_table(TYPED) is not None
    assert dropped_rows() == []  # nothing was loaded to drop


def test_a_table_that_cannot_be_dropped_is_noted_and_dropped_by_the_next_run(
    app, fake, ckan_url, tables, monkeypatch
):
    sync(ckan_url, full=True)
    name = row_table(STOPS).table_name
    fake.update_package(STOPS_DATASET, extras=[{"key": "data_level", "value": "3"}])
    real_drop = store.drop

    def failing_drop(conn, table_name):
        raise sa.exc.OperationalError("DROP TABLE", {}, Exception("the table is locked"))

    monkeypatch.setattr(store, "drop", failing_drop)
    failed = sync(ckan_url)
    noted = db.session.scalars(
        select(SyncError).where(SyncError.run_id == failed.id, SyncError.stage == "rows")
    )
    assert [(e.package, e.resource) for e in noted] == [(STOPS_DATASET, STOPS)]
    assert failed.failed == 0  # the dataset is withdrawn: a table left over is not a failed dataset
    assert row_table(STOPS) is not None and exists(name) and dropped_rows() == []
    monkeypatch.setattr(store, "drop", real_drop)
    sync(ckan_url)  # nothing changed in CKAN: the retry needs no change
    assert row_table(STOPS) is None and not exists(name)
    assert dropped_rows() == [(STOPS, "data_level")]


def test_a_dataset_held_for_personal_data_review_keeps_its_rows(app, fake, ckan_url, tables):
    sync(ckan_url, full=True)
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == STOPS_DATASET))
    dataset.state, dataset.withdrawn_reason = "withdrawn", retire.UNDER_REVIEW
    db.session.commit()
    assert retire.drop_retired(db.session, commit=db.session.commit) == []
    assert row_table(STOPS) is not None
    dataset.withdrawn_reason = "deleted"
    db.session.commit()
    [done] = retire.drop_retired(db.session, commit=db.session.commit)
    assert (done.resource, done.dataset, done.records, done.error) == (STOPS, STOPS_DATASET, 250, "")


def test_a_table_held_by_the_sync_for_personal_data_keeps_its_rows(app, fake, ckan_url, tables):
    sync(ckan_url, full=True)  # the toilets' 管理员电话 are mobile numbers: held for review (待脱敏审核)
    held = db.session.scalar(select(Dataset).where(Dataset.name == "rows-dataset-2"))
    assert (held.state, held.withdrawn_reason) == ("withdrawn", retire.UNDER_REVIEW)
    assert row_table(TOILETS).records == 3 and dropped_rows() == []
