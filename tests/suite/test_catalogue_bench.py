"""The catalogue benchmark's build (bench/catalogue_bench.py): made once through the real sync, on the suite's
database (SQLite, or PostgreSQL under DATABASE_URL), and never taken for complete when it is not.

The benchmark itself stays out of CI; this builds a catalogue of a few generated datasets only.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from testconfig import DATABASE_URL, ON_POSTGRES

BENCH = Path(__file__).resolve().parents[2] / "bench"
COUNT = 12


@pytest.fixture
def bench(tmp_path, monkeypatch):
    """catalogue_bench, writing into tmp_path instead of bench/out."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the module puts bench/ on it, for this test only
    spec = importlib.util.spec_from_file_location("catalogue_bench", BENCH / "catalogue_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


@pytest.fixture
def server_url():
    """On PostgreSQL: a URL whose database name is this test process's own, the builds' prefix;
    the databases made from it are dropped afterwards. On SQLite: None (the build's own file)."""
    if not ON_POSTGRES:
        yield None
        return
    base = make_url(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    prefix = f"bench_smoke_{os.getpid()}"
    yield base.set(database=prefix).render_as_string(hide_password=False)
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for suffix in ("", "_partial"):
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{prefix}_{COUNT}{suffix}" WITH (FORCE)')
    engine.dispose()


def published(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM datasets WHERE state = 'published'")
            ).scalar()
    finally:
        engine.dispose()


def test_build_syncs_every_generated_dataset_once_and_reuses_the_build(bench, server_url, monkeypatch):
    url = bench.build(COUNT, server_url)
    assert bench.database_kind(url) == ("postgresql" if ON_POSTGRES else "sqlite")
    assert published(url) == COUNT
    if ON_POSTGRES:
        assert make_url(url).database == f"bench_smoke_{os.getpid()}_{COUNT}"
    else:
        assert url == f"sqlite:///{bench.OUT / f'catalogue-{COUNT}.db'}"
        assert not (bench.OUT / f"catalogue-{COUNT}.partial").exists()

    def sync_again(*args):
        raise AssertionError("a complete build is reused, not synced again")

    monkeypatch.setattr(bench, "_sync_into", sync_again)
    assert bench.build(COUNT, server_url) == url
    name, datasets, facets = bench._sample(url, COUNT)
    assert name in datasets and len(datasets) == COUNT
    assert any(value.startswith("region=") for value in facets)


def test_a_build_with_unpublished_datasets_stops_and_is_not_taken_as_complete(bench, server_url, monkeypatch):
    import ckan_generator as generator  # from bench/, which the bench fixture put on sys.path

    generate = generator.generate_packages
    monkeypatch.setattr(generator, "generate_packages", lambda n: generate(n - 1))  # one dataset short
    with pytest.raises(SystemExit, match=f"{COUNT - 1} of {COUNT} datasets published"):
        bench.build(COUNT, server_url)
    monkeypatch.setattr(generator, "generate_packages", generate)
    url = bench.build(COUNT, server_url)  # built afresh, not the stopped one reused
    assert published(url) == COUNT
