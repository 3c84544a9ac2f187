"""Fixtures of the row store's tests: a fake CKAN with DataStore tables, synced into the portal with rows
loaded, and the portal served over HTTP for ckanapi."""

from __future__ import annotations

import sys
from pathlib import Path

import ckanapi
import pytest
from ckanserver import FakeCkan, serve

sys.path.insert(0, str(Path(__file__).parent))  # rows_factories, until it moves beside the others
from rows_factories import (  # noqa: E402
    CONDITIONAL_TABLE,
    ORG,
    STOP_FIELDS,
    STOPS,
    TOILET_FIELDS,
    TOILET_RECORDS,
    TOILETS,
    package,
    resource,
    stop_records,
    sync_rows,
)

from portal import storage


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
    """The fake CKAN's catalogue synced into the portal with its rows loaded."""
    return sync_rows(ckan_url)


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
