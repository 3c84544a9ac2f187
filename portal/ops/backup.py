"""Back up the database and the stored files into a folder, and restore them into an empty portal.

A backup folder holds `manifest.json`, the database (`database.pgdump`, PostgreSQL's custom format by
`pg_dump`, or `database.sqlite3`, SQLite's online backup: a consistent copy while the app writes)
and `storage/<key>` for every stored object. The manifest lists each file with its size and SHA-256;
a restore checks them all before it writes anything, refuses a database that already holds tables,
and checks each object again as it puts it into the storage.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url

from portal import storage as storage_module
from portal.dbtypes import utcnow

MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why."""


@dataclass
class Summary:
    engine: str
    tables: int
    files: int
    bytes: int


def backup(dest: Path, *, engine: Engine, store) -> Summary:
    """Write a backup of the database behind `engine` and of `store` into the new folder `dest`."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; back up into a new folder")
    (dest / "storage").mkdir(parents=True, exist_ok=True)
    kind = engine.dialect.name
    database_file = dest / ("database.pgdump" if kind == "postgresql" else "database.sqlite3")
    if kind == "postgresql":
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={database_file}",
                _libpq(engine),
            ]
        )
    elif kind == "sqlite":
        _sqlite_copy(_sqlite_path(engine), str(database_file))
    else:
        raise BackupError(f"cannot back up a {kind} database")
    files, total = [], 0
    for key in sorted(store.keys()):
        target = dest / "storage" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        stat = store.stat(key)
        with store.open(key) as source, open(target, "wb") as out:
            digest = _copy(source, out)
        size = target.stat().st_size
        files.append(
            {"key": key, "size": size, "sha256": digest, "content_type": stat.content_type if stat else ""}
        )
        total += size
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "database": {
            "engine": kind,
            "file": database_file.name,
            "sha256": _sha256(database_file),
            "tables": len(inspect(engine).get_table_names()),
        },
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return Summary(kind, manifest["database"]["tables"], len(files), total)


def verify(src: Path) -> dict:
    """Read the manifest of the backup in `src` and check every file's checksum; raise BackupError."""
    src = Path(src)
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} holds no readable {MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    database = manifest["database"]
    if _sha256(src / database["file"]) != database["sha256"]:
        raise BackupError(f"{database['file']} does not match its checksum")
    for entry in manifest["files"]:
        path = src / "storage" / storage_module.validate_key(entry["key"])
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            raise BackupError(f"storage/{entry['key']} is missing or does not match its checksum")
    return manifest


def restore(src: Path, *, engine: Engine, store) -> Summary:
    """Restore the backup in `src` into the empty database behind `engine` and into `store`."""
    src = Path(src)
    manifest = verify(src)
    kind = manifest["database"]["engine"]
    if kind != engine.dialect.name:
        raise BackupError(f"the backup is of a {kind} database, the target is {engine.dialect.name}")
    if inspect(engine).get_table_names():
        raise BackupError("the target database is not empty; restore into an empty one")
    engine.dispose()
    database_file = src / manifest["database"]["file"]
    if kind == "postgresql":
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={_libpq(engine)}",
                str(database_file),
            ]
        )
    else:
        _sqlite_copy(str(database_file), _sqlite_path(engine))
    total = 0
    for entry in manifest["files"]:
        with open(src / "storage" / entry["key"], "rb") as source:
            stored = store.put(
                entry["key"], source, content_type=entry.get("content_type") or "application/octet-stream"
            )
        if stored.sha256 != entry["sha256"]:
            raise BackupError(f"{entry['key']} changed on its way into the storage")
        total += stored.size
    return Summary(kind, manifest["database"]["tables"], len(manifest["files"]), total)


def _libpq(engine: Engine) -> str:
    """The engine's URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    url = make_url(engine.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("the SQLite database is in memory")
    return path


def _sqlite_copy(source: str, target: str) -> None:
    """SQLite's online backup: a consistent copy page by page, while others may write to `source`."""
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (apt-get install postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")


def _copy(source, out) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
