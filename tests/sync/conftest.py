"""Fixtures of the sync tests: a fake CKAN (tests/sync_factories.py's `fake_ckan()`, which a module may
override with its own `fake`) served over HTTP on 127.0.0.1, and a local store for mirrored files."""

from __future__ import annotations

import pytest
from ckanserver import FakeCkan, serve
from sync_factories import fake_ckan

from portal import storage


@pytest.fixture
def fake() -> FakeCkan:
    return fake_ckan()


@pytest.fixture
def ckan_url(fake):
    with serve(fake) as url:
        yield url


@pytest.fixture
def store(tmp_path):
    return storage.LocalStorage(str(tmp_path / "mirror"))
