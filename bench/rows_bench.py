"""Benchmark the row store (issue 16): loading a 1,000,000-row table, then datastore_search under load.

    python bench/rows_bench.py                                  # SQLite in bench/out/rows.db
    python bench/rows_bench.py --database-url postgresql://postgres@127.0.0.1:5432/portal_rows_bench
    python bench/rows_bench.py --rows 200000 --duration 10 --connections 16
    python bench/rows_bench.py --reload --json bench/out/rows.json   # the figures as JSON too

A CSV of generated bus stops (7 fields: Chinese stop names, 1,000 lines, 7 counties, numbers) is written
into the benchmark's storage and loaded by the loader the sync uses (`rows/loader.py`: the first rows type
the fields, one pass loads them all, then the indexes), timed: its wall time, and the CPU time of this
process (the portal's side, whatever else loads the machine) per 100,000 rows. A table already loaded with
as many rows is reused (`--reload` loads it again). Then gunicorn serves the app as production runs it
(`deploy/gunicorn.conf.py`: gthread, 4 workers of 4 threads unless `--workers`/`--threads` say otherwise,
through its PORTAL_WORKERS and PORTAL_THREADS) and wrk sends `datastore_search` calls at `--connections`
connections: an equality filter on a random line, and a full-text `q` on a random stop-name word (Chinese,
by bigrams), each with CKAN's default limit of 100 and the total. It prints the load rate and each query's
throughput and p50/p90/p99 (`--json FILE` writes them to FILE as well). Rate limits are off; the statement
bound is on. `--skip-http` measures the store alone. `--repeat N` runs the HTTP loads N times against the
same server (each after its own warm-up) and reports each run and, per query, the run with the median p99:
a p99 over a few thousand calls moves by a tenth between runs on a loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import catalogue_bench  # noqa: E402 (bench/ is not a package)

RESOURCE_ID = "b0000000-0000-4000-8000-000000000001"
COUNTIES = ["南湖区", "秀洲区", "嘉善县", "平湖市", "海盐县", "海宁市", "桐乡市"]
ROADS = [
    a + b
    for a in "东西南北中新老长文明和平解放人民建设友谊花园"
    for b in ("湖", "河", "桥", "港", "塘", "园", "街", "路", "湾", "镇")
]
HEADER = ["站点名称", "线路", "区县", "座位数", "经度", "纬度", "更新日期"]


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            road = ROADS[rng.randrange(len(ROADS))]
            writer.writerow(
                [
                    f"{road}{rng.choice(('公交站', '首末站', '枢纽站'))}{n % 97}",
                    f"{rng.randrange(1, 1001)}路",
                    COUNTIES[n % 7],
                    rng.randrange(0, 40),
                    f"{120.5 + rng.random() / 2:.6f}",
                    f"{30.5 + rng.random() / 2:.6f}",
                    f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                ]
            )


def app_for(database_url: str):
    from portal import create_app

    return create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "STORAGE_URL": str(OUT / "rows-storage"),
            "SECRET_KEY": "bench",
        }
    )


def build(database_url: str, rows: int, reload: bool) -> tuple[float | None, float | None, int]:
    """Make the dataset and resource, load the table when needed; return (seconds, this process's CPU
    seconds, rows) of the load."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal.catalogue.models import Dataset, Department, Resource
    from portal.dbtypes import utcnow
    from portal.extensions import db
    from portal.regions.models import Region
    from portal.rows import loader
    from portal.rows.models import READY, RowTable
    from portal.seeding import load_regions
    from portal.storage import get_storage

    app = app_for(database_url)
    with app.app_context():
        upgrade(revision="heads")
        if db.session.scalar(select(Region).limit(1)) is None:
            load_regions()
        resource = db.session.scalar(select(Resource).where(Resource.ckan_id == RESOURCE_ID))
        if resource is None:
            department = Department(
                ckan_id="bench-org", name="bench-org", title="嘉兴市交通运输局", region_source="default",
                region_id=db.session.scalar(select(Region.id).where(Region.code == "330400")),
            )  # fmt: skip
            dataset = Dataset(
                ckan_id="bench-rows", name="bench-rows", title="公交站点（基准）", department=department,
                metadata_modified=utcnow(),
            )  # fmt: skip
            resource = Resource(ckan_id=RESOURCE_ID, dataset=dataset, name="公交站点", format="CSV", url="")
            db.session.add_all([department, dataset, resource])
            db.session.commit()
        row_table = db.session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
        if row_table is not None and row_table.status == READY and row_table.records == rows and not reload:
            return None, None, rows
        source = OUT / f"rows-{rows}.csv"
        if not source.exists():
            write_csv(source, rows)
        key = f"resources/bench-rows/{RESOURCE_ID}/stops.csv"
        with source.open("rb") as f:
            get_storage().put(key, f)
        resource.storage_key, resource.mirrored_at = key, utcnow()
        resource.sha256 = hashlib.sha256(f"{rows}-{time.time()}".encode()).hexdigest()  # a new version
        db.session.commit()
        started, cpu = time.perf_counter(), time.process_time()
        loaded = loader.load(
            db.session, resource, source=None, open_stored=get_storage().open, commit=db.session.commit
        )
        return time.perf_counter() - started, time.process_time() - cpu, loaded.records


GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"  # what an app node runs (deploy/systemd, local-cluster)


def _server_env(database_url: str, workers: int | None, threads: int | None) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(OUT / "instance"),
        "STORAGE_URL": str(OUT / "rows-storage"),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": "false",
        "LOG_JSON": "false",
    }
    for name, value in (("PORTAL_WORKERS", workers), ("PORTAL_THREADS", threads)):
        if value is not None:
            env[name] = str(value)
    return env


def serve(database_url: str, workers: int | None, threads: int | None, port: int) -> subprocess.Popen:
    """Start gunicorn with the production settings (worker class, workers and threads, keep-alive,
    restarts), the workers and threads overridden only when given, and log only warnings."""
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    env = _server_env(database_url, workers, threads)
    return catalogue_bench.wait_until_serving(subprocess.Popen(command, env=env, cwd=ROOT), port, tries=150)


def _gunicorn_settings(database_url: str, workers: int | None, threads: int | None) -> tuple[int, int]:
    """The workers and threads gunicorn runs with: the given ones, else deploy/gunicorn.conf.py's."""
    code = f"import runpy; s = runpy.run_path({str(GUNICORN_CONF)!r}); print(s['workers'], s['threads'])"
    env = _server_env(database_url, workers, threads)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    found_workers, found_threads = out.stdout.split()
    return int(found_workers), int(found_threads)


def paths(kind: str, count: int = 500) -> list[str]:
    rng = random.Random(11)
    base = f"/api/3/action/datastore_search?resource_id={RESOURCE_ID}"
    if kind == "filter":
        values = [
            json.dumps({"线路": f"{rng.randrange(1, 1001)}路"}, ensure_ascii=False) for _ in range(count)
        ]
        return [f"{base}&filters={urllib.parse.quote(v)}" for v in values]
    return [f"{base}&q={urllib.parse.quote(rng.choice(ROADS))}" for _ in range(count)]


def _searches(args: tuple) -> list[float]:
    """One process's share of `direct`: its own engine and connection, searches until the deadline."""
    import sqlalchemy as sa

    from portal.rows import query, store

    database_url, name, columns, params, stop = args
    fields = [store.Field.from_dict(c) for c in columns]
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    timings = []
    with engine.connect() as conn:
        i = 0
        while time.time() < stop:
            started = time.perf_counter()
            query.run(conn, name, fields, query.parse(params[i % len(params)], fields))
            timings.append((time.perf_counter() - started) * 1000)
            i += 1
    return timings


def direct(database_url: str, kind: str, connections: int, duration: float) -> dict:
    """Run searches straight on the store (rows/query.py) from `connections` processes, each with its own
    database connection, for `duration` seconds; return throughput and latency percentiles in ms."""
    import multiprocessing

    from sqlalchemy import select

    from portal.extensions import db
    from portal.rows.models import RowTable

    app = app_for(database_url)
    with app.app_context():
        row_table = db.session.scalar(select(RowTable).order_by(RowTable.id.desc()).limit(1))
        name, columns = row_table.table_name, row_table.columns
        db.engine.dispose()
    rng = random.Random(5)
    if kind == "filter":
        params = [{"filters": {"线路": f"{rng.randrange(1, 1001)}路"}} for _ in range(500)]
    else:
        params = [{"q": rng.choice(ROADS)} for _ in range(500)]
    stop = time.time() + 1 + duration
    jobs = [(database_url, name, columns, params[n::connections], stop) for n in range(connections)]
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        timings = sorted(t for share in pool.map(_searches, jobs) for t in share)

    def at(p: float) -> float:
        return timings[min(len(timings) - 1, int(len(timings) * p))]

    return {"rps": len(timings) / duration, "50": at(0.5), "90": at(0.9), "99": at(0.99), "errors": 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'rows.db'}")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reload", action="store_true", help="load the table again even when it is there")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--port", type=int, default=5097)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--skip-http", action="store_true", help="measure the store only, not gunicorn")
    parser.add_argument("--repeat", type=int, default=1, help="HTTP loads per query (median p99 reported)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    seconds, cpu, rows = build(args.database_url, args.rows, args.reload)
    engine = args.database_url.split(":", 1)[0]
    figures: dict = {"database": engine, "rows": rows, "connections": args.connections, "load": None}
    if seconds is None:
        print(f"{engine}: reusing the loaded table of {rows} rows (--reload to time a load)")
    else:
        per_100k = cpu * 100_000 / rows
        rate = f"{rows / seconds:,.0f} rows/s, {per_100k:.2f} CPU s per 100k rows"
        print(f"{engine}: loaded {rows} rows in {seconds:.1f} s: {rate}")
        figures["load"] = {
            "seconds": seconds,
            "rows_per_second": rows / seconds,
            "cpu_seconds_per_100k": per_100k,
        }
    bounds = {"filter": 50, "q": 100}
    print(f"store, {args.connections} processes with a database connection each, limit 100 with the total")
    figures["store"] = {}
    for kind in ("filter", "q"):
        figures["store"][kind] = direct(args.database_url, kind, args.connections, args.duration)
        _report(kind, figures["store"][kind], bounds[kind])
    if not args.skip_http:
        workers, threads = _gunicorn_settings(args.database_url, args.workers, args.threads)
        figures["gunicorn"] = {"config": "deploy/gunicorn.conf.py", "workers": workers, "threads": threads}
        figures["http"] = _over_http(args, bounds, workers, threads)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


def _over_http(args, bounds: dict, workers: int, threads: int) -> dict:
    server = serve(args.database_url, args.workers, args.threads, args.port)
    base = f"http://127.0.0.1:{args.port}"
    runs: dict[str, list[dict]] = {"filter": [], "q": []}
    try:
        for _ in range(max(1, args.repeat)):
            for kind in runs:
                runs[kind].append(
                    catalogue_bench.load(
                        base + "/", duration=args.duration, connections=args.connections, paths=paths(kind)
                    )
                )
    finally:
        server.terminate()
        server.wait(30)
    print(
        f"gunicorn -c deploy/gunicorn.conf.py ({workers} gthread workers x {threads} threads), "
        f"wrk -c{args.connections} -d{args.duration}s, datastore_search limit 100 with the total"
    )
    results = {}
    for kind, done in runs.items():
        if len(done) > 1:
            for n, r in enumerate(done, 1):
                _report(f"{kind} {n}", r, bounds[kind])
            print("median:")
        results[kind] = {**median_run(done), "runs": done}
        _report(kind, results[kind], bounds[kind])
    return results


def median_run(runs: list[dict]) -> dict:
    """The run whose p99 is the median of the runs' (of an even number, the higher middle one): one run's
    figures, all of them from the same load."""
    ordered = sorted(runs, key=lambda r: r["99"])
    return ordered[len(ordered) // 2]


def _report(kind: str, r: dict, bound: int) -> None:
    print(
        f"{kind:>7}: {r['rps']:7.1f} req/s  p50 {r['50']:6.1f} ms  p90 {r['90']:6.1f} ms  "
        f"p99 {r['99']:6.1f} ms  errors {r['errors']}  (p99 bound {bound} ms: "
        f"{'met' if r['99'] < bound else 'missed'})"
    )


if __name__ == "__main__":
    main()
