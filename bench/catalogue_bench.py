"""Benchmark the catalogue pages under gunicorn with a large catalogue, against a minimal route.

    python bench/catalogue_bench.py --datasets 100000       # builds bench/out/catalogue-100000.db once
    python bench/catalogue_bench.py --datasets 100000 --duration 15 --connections 16
    python bench/catalogue_bench.py --datasets 100000 --database-url postgresql://postgres@127.0.0.1/catalogue

On PostgreSQL (--database-url, or DATABASE_URL) the catalogue is built once into the database
"<the URL's database>_<N>" on that server (catalogue_100000 above) and served from there by the same
gunicorn set-up; a build is made under "<...>_<N>_partial" and renamed only once every generated
dataset is published, so a build that stopped half-way is never taken for a complete one.

Pages: the catalogue page, a search for a common two-character word (交通), a dataset
page, and a minimal Flask route rendering the same base layout with fixed data, all in
the same run; and a "bare" load: a plain Flask app without any of the portal's hooks
(session, sign-in, translations, CSRF, activity, metrics) serving the very bytes the
minimal route sent, under the same gunicorn settings, so that the floor the portal's
hooks add is measured too (issue 20 item 1). Both run under an app node's gunicorn settings
(deploy/gunicorn.conf.py, with -w and -b from the command line; `--gunicorn-config ''` for gunicorn's
defaults), so that a load meets the workers production runs: gthread with connections kept alive, and the
garbage collector's full passes not walking the app's import-time objects (a one-off 170 ms p99 of the
minimal route came from one such pass). `--json FILE` writes each load's figures as
{"bare": {"rps", "p50_ms", "p90_ms", "p99_ms", "errors"}, "minimal": ..., "catalogue": ...,
"search": ..., "dataset": ..., "varied_catalogue": ..., "varied_catalogue_wide": ...,
"varied_datasets": ...,
"database": "sqlite"|"postgresql", "gunicorn_config": its path or "",
"load_average": [1, 5, 15 min]}. Load: wrk from 127.0.0.1 (Debian's `wrk`). Prints requests/s and
latency percentiles for each, and each page's throughput as a share of the minimal route's.

Each load is preceded by two-second unmeasured runs until two in a row agree within 15 % (at most
five), so that every gunicorn worker has its caches, as a long-running server has them.
The issue asks for one URL per page; the pages keep per-process caches (facets, rendered facets, each
dataset's public part), which one URL always hits. So the run also measures "varied" loads, each
request drawing one of many URLs (2,000 dataset pages, more than the caches hold; 200
catalogue pages of listings, facets, sorts and searches), to show the cost of the
work the caches save. The 200 catalogue URLs fit in the whole-page cache of visitors not signed in
(256 pages), so "varied catalogue, wide" draws from over 1,000 (pages 41-1,040, the facets, sorts and
searches): beyond every catalogue cache, as a crawler walking the catalogue is.
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


def build(count: int, database_url: str | None = None) -> str:
    """Make (once) a catalogue of `count` generated datasets through the real sync; return its URL.

    Without `database_url` (or with a SQLite one) the catalogue is the SQLite file
    bench/out/catalogue-<count>.db. With a PostgreSQL URL it is the database named
    "<the URL's database>_<count>" on that server (e.g. .../catalogue -> catalogue_100000), so
    that several sizes live side by side, as the SQLite files do.
    """
    if database_url and database_url.startswith("postgres"):
        return _build_postgresql(count, database_url)
    return f"sqlite:///{_build_sqlite(count)}"


def database_kind(url: str) -> str:
    """Name the database a catalogue URL points to ("sqlite" or "postgresql"), for the figures."""
    return "postgresql" if url.startswith("postgres") else "sqlite"


def _build_sqlite(count: int) -> Path:
    """Build into catalogue-<count>.partial, renamed to catalogue-<count>.db only once complete."""
    database = OUT / f"catalogue-{count}.db"
    if database.exists():
        _upgraded(f"sqlite:///{database}")
        return database
    OUT.mkdir(parents=True, exist_ok=True)
    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    _sync_into(f"sqlite:///{partial}", count, OUT / f"catalogue-{count}.jsonl")
    partial.rename(database)
    return database


def _build_postgresql(count: int, database_url: str) -> str:
    """Build into "<name>_<count>_partial", renamed to "<name>_<count>" only once complete.

    The rename is PostgreSQL's own (ALTER DATABASE ... RENAME), done after the sync and the
    check that every generated dataset is published: a database of the final name is a
    complete build, whatever stopped an earlier run, and a leftover partial one is dropped.
    """
    from sqlalchemy.engine import make_url

    base = make_url(database_url)
    name = f"{base.database or 'catalogue'}_{count}"
    url = base.set(database=name).render_as_string(hide_password=False)
    partial = f"{name}_partial"
    if _postgresql_has(base, name):
        _upgraded(url)
        return url
    OUT.mkdir(parents=True, exist_ok=True)
    _postgresql_admin(base, f'DROP DATABASE IF EXISTS "{partial}"', f'CREATE DATABASE "{partial}"')
    _sync_into(base.set(database=partial).render_as_string(hide_password=False), count, OUT / f"{name}.jsonl")
    _postgresql_admin(base, f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    return url


def _postgresql_admin(base, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP/ALTER DATABASE) from the server's
    maintenance database "postgres", which is never the one they act on."""
    from sqlalchemy import create_engine

    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _postgresql_has(base, name: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(base.set(database="postgres"))
    try:
        with engine.connect() as connection:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return connection.execute(query, {"name": name}).first() is not None
    finally:
        engine.dispose()


def _sync_into(url: str, count: int, dump: Path) -> None:
    """Migrate the empty database at `url`, load the regions and sync `count` generated packages.

    Stops the run (SystemExit) unless every one of them ends up published: the sync screens
    tabular resources for personal data and holds what it finds, and a catalogue with held or
    failed datasets would measure a smaller catalogue than the one named.
    """
    import ckan_generator
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from portal import create_app
    from portal.catalogue import rules
    from portal.catalogue.models import Dataset
    from portal.extensions import db
    from portal.seeding import load_regions
    from portal.sync import remote, run

    ckan_generator.write_dump(ckan_generator.generate_packages(count), dump)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(OUT / "instance"), "SECRET_KEY": "bench"})
    try:
        with app.app_context():
            upgrade(revision="heads")
            load_regions()
            db.session.commit()
            began = time.perf_counter()
            result = run.sync(remote.DumpSource(dump), run.Settings())
            seconds = time.perf_counter() - began
            counters = {name: getattr(result, name) for name in run.COUNTERS}
            published = db.session.scalar(select(func.count()).select_from(Dataset).where(rules.published()))
            db.session.remove()
            db.engine.dispose()
    finally:
        dump.unlink(missing_ok=True)
    created = counters["created"]
    print(
        f"synced {created} datasets in {seconds:.0f} s ({created / seconds:.0f} datasets/s) "
        f"into {database_kind(url)}; {published} published",
        flush=True,
    )
    if published != count:
        raise SystemExit(f"the build is not complete: {published} of {count} datasets published ({counters})")


def _upgraded(url: str) -> None:
    """Bring a catalogue built by an older checkout to the current schema (new columns, tables)."""
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(OUT / "instance"), "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")
        from portal.extensions import db

        db.engine.dispose()


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


GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def gunicorn(workers: int, port: int, config: str) -> list[str]:
    """gunicorn's command line for `workers` on 127.0.0.1:`port` with the settings file `config` (an app
    node's, deploy/gunicorn.conf.py: gthread workers of PORTAL_THREADS threads, connections kept alive,
    what loading the app made frozen out of the collector's passes, restarts after 50,000 requests), or
    gunicorn's defaults (sync workers, a connection per request) with an empty `config`."""
    command = [sys.executable, "-m", "gunicorn", *(["-c", config] if config else [])]
    return [*command, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"]


def serve_bare(page: bytes, workers: int, port: int, config: str = str(GUNICORN_CONFIG)) -> subprocess.Popen:
    """A plain Flask app (no portal hooks) serving `page`, under the same gunicorn settings."""
    (OUT / "bare_page.html").write_bytes(page)
    (OUT / "bare_wsgi.py").write_text(BARE, encoding="utf-8")
    process = subprocess.Popen([*gunicorn(workers, port, config), "bare_wsgi:app"], cwd=OUT)
    return wait_until_serving(process, port)


def serve(database_url: str, workers: int, port: int, config: str = str(GUNICORN_CONFIG)) -> subprocess.Popen:
    """The portal on the catalogue at `database_url` (a URL `build` returned), with the minimal route."""
    (OUT / "bench_wsgi.py").write_text(APP, encoding="utf-8")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(OUT / "instance"),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": f"{OUT}:{ROOT}",
    }
    process = subprocess.Popen([*gunicorn(workers, port, config), "bench_wsgi:app"], env=env, cwd=OUT)
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
    # unmeasured runs first, until two in a row agree within 15 % (at most five): every worker has built its
    # caches, as a long-running server has them (each worker's facet index of 100,000 datasets is ~2 s of a
    # core on a slow machine: one two-second run left a worker building it into the measured run)
    previous = None
    for _ in range(5):
        warm = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", "-d2s", *script, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", warm).group(1))
        if previous is not None and abs(rate - previous) <= 0.15 * previous:
            break
        previous = rate
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


def _sample(database_url: str, count: int) -> tuple[str, list[str], list[str]]:
    """Pick from the catalogue the dataset page, the varied loads' datasets and facet values."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    connection = engine.connect()
    published = "SELECT name FROM datasets WHERE state = 'published'"
    offset = min(500, count // 2)  # the 501st dataset, as before, or the middle of a small catalogue
    name = connection.exec_driver_sql(f"{published} ORDER BY id LIMIT 1 OFFSET {offset}").scalar_one()
    some_datasets = list(connection.exec_driver_sql(f"{published} ORDER BY random() LIMIT 2000").scalars())
    facet_values = [
        f"{param}={urllib.parse.quote(value)}"
        for param, statement in (
            ("theme", "SELECT name FROM themes"),
            ("department", "SELECT name FROM departments ORDER BY random() LIMIT 20"),
            ("region", "SELECT code FROM regions"),
            ("format", "SELECT DISTINCT format FROM resources WHERE format != ''"),
            ("tag", "SELECT name FROM tags ORDER BY random() LIMIT 20"),
        )
        for (value,) in connection.exec_driver_sql(statement)
    ]
    connection.close()
    engine.dispose()
    return name, some_datasets, facet_values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--json", metavar="FILE", help="write each load's figures as JSON")
    parser.add_argument(
        "--gunicorn-config",
        default=str(GUNICORN_CONFIG),
        help="gunicorn's settings file for the portal and the bare app alike (default: an app node's, "
        "deploy/gunicorn.conf.py; '' for gunicorn's defaults: sync workers, a connection per request)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL URL: build and serve the catalogue in <its database>_<N> on that server "
        "(default: $DATABASE_URL; without either, SQLite in bench/out)",
    )
    args = parser.parse_args()
    database = build(args.datasets, args.database_url)
    name, some_datasets, facet_values = _sample(database, args.datasets)
    words = ["交通", "医疗", "学校", "公交", "企业", "环境", "旅游", "人口", "doctor", "停车场"]
    catalogue_paths = [f"/datasets/?page={n}" for n in range(1, 41)]
    catalogue_paths += [f"/datasets/?{value}" for value in facet_values]
    catalogue_paths += [f"/datasets/?sort={s}&page={n}" for s in ("downloads", "name") for n in (1, 2, 3)]
    catalogue_paths += [f"/datasets/?q={urllib.parse.quote(w)}&page={n}" for w in words for n in (1, 2)]
    server = serve(database, args.workers, args.port, args.gunicorn_config)
    base = f"http://127.0.0.1:{args.port}"
    pages = {
        "minimal route": "/bench/minimal",
        "catalogue page": "/datasets/",
        "search 交通": "/datasets/?q=" + urllib.parse.quote("交通"),
        "dataset page": f"/datasets/{name}",
    }
    # beyond every catalogue cache (whole pages 256, searches 512): what a crawler walking the catalogue costs
    wide_paths = [f"/datasets/?page={n}" for n in range(41, 1041)] + catalogue_paths[40:]
    varied = {
        "varied catalogue": catalogue_paths[:200],
        "varied catalogue, wide": wide_paths,
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
    # after the portal stopped: the cores are the bare app's alone
    bare = serve_bare(page, args.workers, args.port, args.gunicorn_config)
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
            "varied catalogue, wide": "varied_catalogue_wide",
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
        figures["database"] = database_kind(database)
        figures["gunicorn_config"] = args.gunicorn_config
        figures["load_average"] = os.getloadavg()
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"load average {os.getloadavg()}; bare Flask {results['bare']['rps']:.1f} req/s")
    floor = results["minimal route"]["rps"]
    print(
        f"{args.datasets} datasets on {database_kind(database)}, "
        f"gunicorn -w {args.workers} -c {args.gunicorn_config or '(defaults)'}, "
        f"wrk -c{args.connections} -d{args.duration}s"
    )
    for label, r in results.items():
        print(
            f"{label:>22}: {r['rps']:8.1f} req/s ({r['rps'] / floor:5.0%} of minimal, "
            f"{r['rps'] / results['bare']['rps']:5.0%} of bare)  "
            f"p50 {r['50']:6.1f} ms  p90 {r['90']:6.1f} ms  p99 {r['99']:6.1f} ms  errors {r['errors']}"
        )


if __name__ == "__main__":
    main()
