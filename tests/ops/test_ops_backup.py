"""Backup and restore: a backup restored into an empty database and storage gives the same rows and files."""

from __future__ import annotations

import io
import json

import pytest
from catalogue_factories import make_dataset
from factories import make_user
from s3server import ACCESS_KEY, SECRET_KEY
from sqlalchemy import create_engine, inspect, select

from portal import storage
from portal.extensions import db
from portal.ops import backup

FILES = {
    "resources/1/2/公交站点.csv": "站点,线路\n南湖,1路\n".encode(),
    "applications/7/screenshot.png": bytes(range(256)) * 40,
    "contest/3/方案.pdf": b"%PDF-1.7 \x00\xff" * 1000,
}


def all_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, ordered, for comparing two databases."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    rows = {}
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    engine.dispose()
    return rows


def file_checksums(store) -> dict[str, str]:
    return {key: store.stat(key).sha256 or _sha(store, key) for key in store.keys()}


def _sha(store, key):
    import hashlib

    with store.open(key) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fill(app) -> None:
    make_user(role="developer", email="开发者@example.cn")
    make_dataset("嘉兴市公交站点")
    db.session.commit()
    store = storage.get_storage()
    for key, data in FILES.items():
        store.put(
            key,
            io.BytesIO(data),
            content_type="text/csv" if key.endswith(".csv") else "application/octet-stream",
        )


def storage_url(kind: str, s3_endpoint: str, bucket: str, folder) -> str | None:
    if kind == "folder":
        return str(folder)
    return f"minio://{ACCESS_KEY}:{SECRET_KEY}@{s3_endpoint}/{bucket}"


@pytest.fixture(params=["folder", "s3"])
def store_kind(request):
    return request.param


def test_a_restored_backup_has_the_same_rows_and_files(
    app, make_app, database_url, empty_database_url, store_kind, s3_endpoint, tmp_path
):
    source = make_app(STORAGE_URL=storage_url(store_kind, s3_endpoint, "backup-source", tmp_path / "files"))
    with source.app_context():
        fill(source)
        result = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
        assert "3 file(s)" in result.output
        rows_before = all_rows(database_url)
        files_before = file_checksums(storage.get_storage())
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text("utf-8"))
    assert sorted(f["key"] for f in manifest["files"]) == sorted(FILES)

    target = make_app(
        DATABASE_URL=empty_database_url,
        STORAGE_URL=storage_url(store_kind, s3_endpoint, "restore-target", tmp_path / "restored-files"),
    )
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
        assert all_rows(empty_database_url) == rows_before
        assert file_checksums(storage.get_storage()) == files_before
        assert sum(len(r) for r in rows_before.values()) > 10  # users, regions, a dataset …
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(app, runner, tmp_path):
    fill(app)
    assert runner.invoke(args=["backup", str(tmp_path / "backup")]).exit_code == 0
    result = runner.invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 1
    assert "not empty" in result.output


def test_restore_refuses_a_damaged_backup_before_writing_anything(
    app, make_app, runner, empty_database_url, tmp_path
):
    fill(app)
    assert runner.invoke(args=["backup", str(tmp_path / "backup")]).exit_code == 0
    damaged = tmp_path / "backup" / "storage" / "resources/1/2/公交站点.csv"
    damaged.write_bytes(damaged.read_bytes() + b"x")
    target = make_app(DATABASE_URL=empty_database_url, STORAGE_URL=str(tmp_path / "restored"))
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
        assert result.exit_code == 1 and "does not match its checksum" in result.output
        assert inspect(db.engine).get_table_names() == []
        assert list(storage.get_storage().keys()) == []
        db.engine.dispose()


def test_backup_refuses_a_folder_that_is_not_empty(app, runner, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "old.txt").write_text("旧")
    result = runner.invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 1 and "not empty" in result.output


def test_a_manifest_that_names_a_path_outside_the_backup_is_refused(tmp_path):
    (tmp_path / "database.sqlite3").write_bytes(b"")
    manifest = {
        "format": backup.FORMAT,
        "database": {
            "engine": "sqlite",
            "file": "database.sqlite3",
            "sha256": backup._sha256(tmp_path / "database.sqlite3"),
        },
        "files": [{"key": "../../etc/passwd", "size": 1, "sha256": "0"}],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="invalid storage key"):
        backup.verify(tmp_path)
