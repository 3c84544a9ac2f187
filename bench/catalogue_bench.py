"""Benchmark the catalogue pages under gunicorn with a large catalogue, against a minimal route.

    python bench/catalogue_bench.py --datasets 100000       # builds bench/out/catalogue-100000.db once
    python bench/catalogue_bench.py --datasets 100000 --duration 15 --connections 16

Pages: the catalogue page, a search for a common two-character word (交通), a dataset
page, and a minimal Flask route rendering the same base layout with fixed data, all in
the same run; and a "bare" load: a plain Flask app without any of the portal's hooks
(session, sign-in, translations, CSRF, activity, metrics) serving the very bytes the
minimal route sent, under the same gunicorn settings, so that the floor the portal's
hooks add is measured too (issue 20 item 1). `--json FILE` writes each load's figures as
{"bare": {"rps", "p50_ms", "p90_ms", "p99_ms", "errors"}, "minimal": ..., "catalogue": ...,
"search": ..., "dataset": ..., "varied_catalogue": ..., "varied_datasets": ...,
"load_average": [1, 5, 15 min]}. Load: wrk from 127.0.0.1 (Debian's `wrk`). Prints requests/s and latency
percentiles for each, and each page's throughput as a share of the minimal route's.

Each load is preceded by a two-second unmeasured run, so that every gunicorn worker
has its caches, as a long-running server has them. The issue asks for one URL per
page; the pages keep per-process caches (facets, rendered facets, each dataset's
public part), which one URL always hits. So the run also measures "varied" loads, each
request drawing one of many URLs (2,000 dataset pages, more than the caches hold; 200
catalogue pages of listings, facets, sorts and searches), to show the cost of the
work the caches save.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def build(count: int) -> Path:
    """Make (once) a SQLite catalogue of `count` generated datasets through the real sync."""
    database = OUT / f"catalogue-{count}.db"
    if database.exists():
        return _upgraded(database)
    OUT.mkdir(parents=True, exist_ok=True)
    import ckan_generator
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.seeding import load_regions
    from portal.sync import remote, run

    dump = OUT / f"catalogue-{count}.jsonl"
    ckan_generator.write_dump(ckan_generator.generate_packages(count), dump)
    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{partial}",
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        upgrade(revision="heads")
        load_regions()
        db.session.commit()
        began = time.perf_counter()
        result = run.sync(remote.DumpSource(dump), run.Settings())
        print(f"synced {result.created} datasets in {time.perf_counter() - began:.0f} s", flush=True)
        db.engine.dispose()
    partial.rename(database)
    dump.unlink()
    return database


def _upgraded(database: Path) -> Path:
    """Bring a catalogue built by an older checkout to the current schema (new columns, tables)."""
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        upgrade(revision="heads")
    return database


def stop(process: subprocess.Popen) -> None:
    """Stop gunicorn; kill it if a loaded machine keeps it from stopping in time."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


APP = """
from flask import render_template
from portal import create_app

app = create_app()
# Compiled once, as the portal's own templates are (render_template_string compiles per call).
MINIMAL = app.jinja_env.from_string(
    '{% extends "base.html" %}{% block content %}<h1>{{ title }}</h1><ul>'
    '{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>{% endblock %}'
)

@app.get("/bench/minimal")
def minimal():
    return render_template(MINIMAL, title="基准页面", items=[f"数据集 {n}" for n in range(20)])
"""


BARE = """
from pathlib import Path

from flask import Flask, Response

app = Flask(__name__)
PAGE = (Path(__file__).parent / "bare_page.html").read_bytes()


@app.get("/bench/bare")
def bare():
    return Response(PAGE, content_type="text/html; charset=utf-8")


@app.get("/healthz")
def healthz():
    return "ok"
"""


def serve_bare(page: bytes, workers: int, port: int) -> subprocess.Popen:
    """A plain Flask app (no portal hooks) serving `page`, under the same gunicorn settings."""
    (OUT / "bare_page.html").write_bytes(page)
    (OUT / "bare_wsgi.py").write_text(BARE, encoding="utf-8")
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    process = subprocess.Popen([*command, "--log-level", "warning", "bare_wsgi:app"], cwd=OUT)
    return wait_until_serving(process, port)


def serve(database: Path, workers: int, port: int) -> subprocess.Popen:
    (OUT / "bench_wsgi.py").write_text(APP, encoding="utf-8")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PORTAL_INSTANCE_PATH": str(OUT / "instance"),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": f"{OUT}:{ROOT}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench_wsgi:app",
        ],
        env=env,
        cwd=OUT,
    )
    return wait_until_serving(process, port)


def wait_until_serving(process: subprocess.Popen, port: int, tries: int = 100) -> subprocess.Popen:
    """Return `process` once 127.0.0.1:`port` answers /healthz; kill it and stop the run if it never does."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def load(url: str, *, duration: int, connections: int, paths: list[str] | None = None) -> dict:
    """Load `url` (or, with `paths`, a random one of them per request, on url's host) with wrk."""
    script = []
    if paths:
        lua = OUT / "paths.lua"
        quoted = ",\n".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths)
        lua.write_text(
            f"local paths = {{\n{quoted}\n}}\n"
            "math.randomseed(os.time())\n"
            "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n",
            encoding="utf-8",
        )
        script = ["-s", str(lua)]
    else:
        urllib.request.urlopen(url, timeout=30).read()
    # an unmeasured run first: every worker's caches warm, as a long-running server has them
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", *script, url], capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", *script, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: _ms(re.search(rf"\s{p}%\s+([\d.]+\w+)", out).group(1)) for p in ("50", "90", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, **latency, "errors": int(errors.group(1)) if errors else 0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--json", metavar="FILE", help="write each load's figures as JSON")
    args = parser.parse_args()
    database = build(args.datasets)
    import sqlite3

    connection = sqlite3.connect(database)
    published = "SELECT name FROM datasets WHERE state = 'published'"
    name = connection.execute(f"{published} ORDER BY id LIMIT 1 OFFSET 500").fetchone()[0]
    some_datasets = [row[0] for row in connection.execute(f"{published} ORDER BY random() LIMIT 2000")]
    facet_values = [
        f"{param}={urllib.parse.quote(value)}"
        for param, statement in (
            ("theme", "SELECT name FROM themes"),
            ("department", "SELECT name FROM departments ORDER BY random() LIMIT 20"),
            ("region", "SELECT code FROM regions"),
            ("format", "SELECT DISTINCT format FROM resources WHERE format != ''"),
            ("tag", "SELECT name FROM tags ORDER BY random() LIMIT 20"),
        )
        for (value,) in connection.execute(statement)
    ]
    connection.close()
    words = ["交通", "医疗", "学校", "公交", "企业", "环境", "旅游", "人口", "doctor", "停车场"]
    catalogue_paths = [f"/datasets/?page={n}" for n in range(1, 41)]
    catalogue_paths += [f"/datasets/?{value}" for value in facet_values]
    catalogue_paths += [f"/datasets/?sort={s}&page={n}" for s in ("downloads", "name") for n in (1, 2, 3)]
    catalogue_paths += [f"/datasets/?q={urllib.parse.quote(w)}&page={n}" for w in words for n in (1, 2)]
    server = serve(database, args.workers, args.port)
    base = f"http://127.0.0.1:{args.port}"
    pages = {
        "minimal route": "/bench/minimal",
        "catalogue page": "/datasets/",
        "search 交通": "/datasets/?q=" + urllib.parse.quote("交通"),
        "dataset page": f"/datasets/{name}",
    }
    varied = {
        "varied catalogue": catalogue_paths[:200],
        "varied datasets": [f"/datasets/{n}" for n in some_datasets],
    }
    try:
        page = urllib.request.urlopen(base + pages["minimal route"], timeout=30).read()
        results = {
            label: load(base + path, duration=args.duration, connections=args.connections)
            for label, path in pages.items()
        }
        for label, paths in varied.items():
            results[label] = load(
                base + "/", duration=args.duration, connections=args.connections, paths=paths
            )
    finally:
        stop(server)
    bare = serve_bare(page, args.workers, args.port)  # after the portal stopped: the cores are its alone
    try:
        results = {
            "bare": load(f"{base}/bench/bare", duration=args.duration, connections=args.connections),
            **results,
        }
    finally:
        stop(bare)
    if args.json:
        keys = {
            "bare": "bare",
            "minimal route": "minimal",
            "catalogue page": "catalogue",
            "search 交通": "search",
            "dataset page": "dataset",
            "varied catalogue": "varied_catalogue",
            "varied datasets": "varied_datasets",
        }
        figures = {
            keys[label]: {
                "rps": r["rps"],
                "p50_ms": r["50"],
                "p90_ms": r["90"],
                "p99_ms": r["99"],
                "errors": r["errors"],
            }
            for label, r in results.items()
        }
        figures["load_average"] = os.getloadavg()
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"load average {os.getloadavg()}; bare Flask {results['bare']['rps']:.1f} req/s")
    floor = results["minimal route"]["rps"]
    print(
        f"{args.datasets} datasets, gunicorn -w {args.workers}, wrk -c{args.connections} -d{args.duration}s"
    )
    for label, r in results.items():
        print(
            f"{label:>17}: {r['rps']:8.1f} req/s ({r['rps'] / floor:5.0%} of minimal, "
            f"{r['rps'] / results['bare']['rps']:5.0%} of bare)  "
            f"p50 {r['50']:6.1f} ms  p90 {r['90']:6.1f} ms  p99 {r['99']:6.1f} ms  errors {r['errors']}"
        )


if __name__ == "__main__":
    main()
