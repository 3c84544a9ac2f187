"""Fixtures of the row store's tests: a fake CKAN with DataStore tables, synced into the portal with rows
loaded, and the portal served over HTTP for ckanapi."""

from __future__ import annotations

import ckanapi
import pytest
import sqlalchemy as sa
from ckanserver import FakeCkan, serve
from rows_factories import (
    CONDITIONAL_TABLE,
    ORG,
    STOP_FIELDS,
    STOPS,
    TOILET_FIELDS,
    TOILET_RECORDS,
    TOILETS,
    TYPED,
    TYPED_FIELDS,
    TYPED_RECORDS,
    package,
    resource,
    stop_records,
    sync_rows,
)
from sqlalchemy import select

from portal import storage
from portal.extensions import db
from portal.rows import store as row_store
from portal.rows import tables
from portal.rows.models import RowTable


@pytest.fixture
def fake() -> FakeCkan:
    fake = FakeCkan()
    fake.add_organization(ORG)
    fake.add_package(package(1, [resource(STOPS, "公交站点")]))
    fake.add_package(package(2, [resource(TOILETS, "公厕")]))
    fake.add_package(
        package(
            3,
            [resource(CONDITIONAL_TABLE, "条件表")],
            extras=[{"key": "open_condition", "value": "有条件开放"}],
        )
    )
    fake.set_datastore(STOPS, STOP_FIELDS, 250, stop_records())
    fake.set_datastore(TOILETS, TOILET_FIELDS, 3, TOILET_RECORDS)
    fake.add_package(package(4, [resource(TYPED, "类型")]))
    fake.set_datastore(TYPED, TYPED_FIELDS, 3, TYPED_RECORDS)
    fake.set_datastore(CONDITIONAL_TABLE, ["项目"], 2, [{"项目": "甲"}, {"项目": "乙"}])
    return fake


@pytest.fixture
def ckan_url(fake):
    with serve(fake) as url:
        yield url


@pytest.fixture
def store(tmp_path):
    return storage.LocalStorage(str(tmp_path / "mirror"))


@pytest.fixture
def synced(app, ckan_url):
    """The fake CKAN's catalogue synced into the portal with its rows loaded; its tables dropped after."""
    yield sync_rows(ckan_url)
    db.session.rollback()
    for row_table in db.session.scalars(select(RowTable)):
        row_store.drop(db.session.connection(), row_table.table_name)
    db.session.commit()


@pytest.fixture
def statements(app):
    """The SQL statements the app's engine runs while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def on_driver(monkeypatch) -> list[str]:
    """The lookups `locate` ran on PostgreSQL's driver cursor (past the engine's events) while the test
    runs."""
    seen: list[str] = []
    run = tables._on_driver

    def recorded(conn, statement, params):
        seen.append(tables._compiled(statement, conn.dialect))
        return run(conn, statement, params)

    monkeypatch.setattr(tables, "_on_driver", recorded)
    return seen


@pytest.fixture
def portal_url(app):
    with serve(app) as url:
        yield url


@pytest.fixture
def portal(portal_url):
    return ckanapi.RemoteCKAN(portal_url, user_agent="ckanapi-test")


@pytest.fixture
def city_ckan(ckan_url):
    return ckanapi.RemoteCKAN(ckan_url, user_agent="ckanapi-test")
