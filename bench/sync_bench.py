"""Benchmark the catalogue sync against a generated CKAN served over HTTP.

    python bench/sync_bench.py 10000 100000        # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/sync_bench.py 10000

For each size: a full sync without mirroring (datasets per second), then an
incremental sync after 100 packages change, and the peak memory of the syncing
process. The fake CKAN runs in a child process so its memory is not counted.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def serve(count: int) -> None:
    """Child process: serve `count` packages, plus /_bench/touch?n=N to change N of them."""
    import ckan_generator

    fake = ckan_generator.load_fake(count)
    names = [fake.get_package(i)["name"] for i in list(fake._entries)[: min(count, 5000)]]
    rng = random.Random(1)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/_bench/touch":
            n = int(environ.get("QUERY_STRING", "n=100").split("=")[1])
            for name in rng.sample(names, n):
                fake.update_package(name, title=f"{fake.get_package(name)['title']}（更新）")
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"touched": n}).encode()]
        return fake(environ, start_response)

    with ckan_generator._ckanserver().serve(app) as url:
        print(url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(count: int) -> dict:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = child.stdout.readline().strip()
    try:
        return _measure(count, url)
    finally:
        child.stdin.close()
        child.wait(30)


def _measure(count: int, url: str) -> dict:
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.seeding import load_regions
    from portal.sync import remote, run

    with tempfile.TemporaryDirectory() as tmp:
        database = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app({"DATABASE_URL": database, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench"})
        with app.app_context():
            if database.startswith("postgres"):
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            upgrade(revision="heads")
            load_regions()
            db.session.commit()
            source = remote.CkanSource(url, timeout=60, retries=2)
            began = time.perf_counter()
            full = run.sync(source, run.Settings(full=True))
            full_s = time.perf_counter() - began
            if full.status != "succeeded" or full.created != count:
                from portal.sync.models import SyncError

                errors = db.session.scalars(db.select(SyncError).limit(5)).all()
                raise SystemExit(
                    f"full sync {full.status}: {full.created} created, {full.failed} failed; "
                    + "; ".join(f"{e.package}: {e.stage}: {e.message[:200]}" for e in errors)
                )
            urllib.request.urlopen(f"{url}/_bench/touch?n=100", timeout=120).read()
            began = time.perf_counter()
            incremental = run.sync(source, run.Settings())
            incremental_s = time.perf_counter() - began
            assert incremental.updated == 100, (incremental.updated, incremental.seen)
            db.engine.dispose()
    return {
        "packages": count,
        "full_s": full_s,
        "per_s": count / full_s,
        "incremental_s": incremental_s,
        "incremental_seen": incremental.seen,
        "peak_mb": peak_mb(),
    }


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        sys.exit(0)
    print(f"database: {os.environ.get('DATABASE_URL') or 'SQLite'}", flush=True)
    for size in [int(a) for a in sys.argv[1:]] or [10_000]:
        r = bench(size)
        print(
            f"{r['packages']:>7} packages: full sync {r['full_s']:.1f} s = {r['per_s']:.0f} datasets/s; "
            f"incremental (100 changed, {r['incremental_seen']} read) {r['incremental_s']:.2f} s; "
            f"peak memory {r['peak_mb']:.0f} MB",
            flush=True,
        )
