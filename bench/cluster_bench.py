"""The catalogue benchmark against the production topology while the worker syncs 1,000 changed datasets.

    python bench/cluster_bench.py --datasets 10000         # starts deploy/local-cluster.sh, loads, stops it
    python bench/cluster_bench.py --datasets 10000 --keep  # leaves the cluster up afterwards

The topology of deploy/local-cluster.sh (PostgreSQL, Redis, moto's S3, two gunicorn nodes of 4 workers
behind nginx, a worker, a scheduler), its nodes serving the portal plus the minimal route of
bench/catalogue_bench.py. The catalogue (`--datasets` generated packages) is synced once through the CLI.
Then for each page, a sync of 1,000 changed datasets (new titles and timestamps) is started the way an
admin starts one (a job for the worker), and wrk loads the page through nginx meanwhile. Prints each
page's requests/s, its share of the minimal route's, p50/p99, and whether the sync ran the whole load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
STATE = Path(os.environ.get("PORTAL_CLUSTER_DIR", "/tmp/portal-cluster"))
FRONT = "http://127.0.0.1:" + os.environ.get("CLUSTER_FRONT_PORT", "8080")
CHANGED = 1000
sys.path.insert(0, str(ROOT / "bench"))

import catalogue_bench  # noqa: E402
import ckan_generator  # noqa: E402

START_SYNC = """
from portal import create_app
from portal.extensions import db
from portal.sync import jobs
app = create_app()
with app.app_context():
    started = jobs.start({dump!r}, full=False, mirror=False)
    jobs.enqueue(started, started.source.location, full=False, mirror=False)
    print(started.id)
"""
RUN_STATE = """
from portal import create_app
from portal.extensions import db
from portal.sync.models import SyncRun
app = create_app()
with app.app_context():
    run = db.session.get(SyncRun, {run_id})
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    print(run.status, run.updated, seconds)
"""


def cluster_env() -> dict:
    env = dict(os.environ)
    for line in (STATE / "portal.env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    return env


def python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=cluster_env(), cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def changed_dump(count: int, round_: int) -> Path:
    """1,000 of the catalogue's packages with a new title and a newer metadata_modified."""
    path = OUT / f"cluster-changed-{round_}.jsonl"
    packages = []
    for n, package in enumerate(ckan_generator.generate_packages(min(CHANGED, count))):
        package["title"] = f"{package['title']}（第{round_}次修订）"
        package["metadata_modified"] = f"2030-01-{1 + round_:02d}T00:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}"
        packages.append(package)
    ckan_generator.write_dump(iter(packages), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="leave the cluster up")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_wsgi.py").write_text(catalogue_bench.APP, encoding="utf-8")
    script = str(ROOT / "deploy" / "local-cluster.sh")
    env = {**os.environ, "CLUSTER_APP": "bench_wsgi:app", "CLUSTER_PYTHONPATH": str(OUT)}
    ours = not (STATE / "started").exists()  # a cluster already up is used as it is, and left up
    if ours:
        subprocess.run([script, "up"], env=env, check=True)
    try:
        dump = OUT / f"cluster-catalogue-{args.datasets}.jsonl"
        ckan_generator.write_dump(ckan_generator.generate_packages(args.datasets), dump)
        began = time.perf_counter()
        subprocess.run(  # incremental: a catalogue already synced from this dump costs one read of it
            [
                str(ROOT / ".venv" / "bin" / "flask"),
                "--app",
                "wsgi",
                "ckan",
                "sync",
                "--source",
                str(dump),
                "--no-mirror",
            ],
            env=cluster_env(),
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(
            f"catalogue of {args.datasets} datasets synced in {time.perf_counter() - began:.0f} s", flush=True
        )
        some = json.loads(
            subprocess.run(
                ["curl", "-s", f"{FRONT}/api/v1/datasets?per_page=1&page=500"], capture_output=True, text=True
            ).stdout
        )["items"][0]["name"]
        pages = {
            "minimal route": "/bench/minimal",
            "catalogue page": "/datasets/",
            "search 交通": "/datasets/?q=" + urllib.parse.quote("交通"),
            "dataset page": f"/datasets/{some}",
        }
        results = {}
        for round_, (label, path) in enumerate(pages.items(), start=1):
            run_id = python(START_SYNC.format(dump=str(changed_dump(args.datasets, round_))))
            result = catalogue_bench.load(FRONT + path, duration=args.duration, connections=args.connections)
            status = python(RUN_STATE.format(run_id=run_id)).split()
            while status[0] == "running":
                time.sleep(1)
                status = python(RUN_STATE.format(run_id=run_id)).split()
            result["sync"] = f"sync #{run_id} {status[0]}, {status[1]} updated in {float(status[2]):.0f} s"
            results[label] = result
    finally:
        if ours and not args.keep:
            subprocess.run([script, "down"], check=False)
    floor = results["minimal route"]["rps"]
    print(
        f"{args.datasets} datasets, 2 nodes × gunicorn 4 workers behind nginx, PostgreSQL; "
        f"wrk -c{args.connections} -d{args.duration}s through the front door, "
        f"each while a sync of {CHANGED} changed datasets runs"
    )
    for label, r in results.items():
        print(
            f"{label:>15}: {r['rps']:8.1f} req/s ({r['rps'] / floor:5.0%} of minimal)  "
            f"p50 {r['50']:6.1f} ms  p99 {r['99']:6.1f} ms  errors {r['errors']}  [{r['sync']}]"
        )


if __name__ == "__main__":
    main()
