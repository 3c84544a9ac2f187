"""Migrations build the schema from empty, and the models match what they build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from portal import create_app
from portal.dbschema import include_object
from portal.extensions import SQLITE_MMAP_BYTES, db


def _app(url, tmp_path):
    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "x"})


def test_migrations_from_empty_to_head_match_the_models(empty_database_url, tmp_path):
    app = _app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            opts = {"compare_type": True, "render_as_batch": True, "include_object": include_object}
            context = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_base_and_upgrade_again(empty_database_url, tmp_path):
    app = _app(empty_database_url, tmp_path)
    with app.app_context():
        upgrade(revision="heads")
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(revision="heads")
        assert {"users", "regions", "populations"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_memory_mapped_reads(tmp_path):
    app = _app(f"sqlite:///{tmp_path / 'wal.db'}", tmp_path)
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA mmap_size")).scalar() == SQLITE_MMAP_BYTES > 0
        db.engine.dispose()
