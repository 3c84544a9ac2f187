"""Count what one anonymous page view costs the portal itself: figures a busy machine cannot skew.

    python bench/request_cost.py                                   # an empty catalogue in a temporary SQLite
    python bench/request_cost.py --database bench/out/catalogue-100000.db --json cost.json
    DATABASE_URL=postgresql://... python bench/request_cost.py    # an already migrated PostgreSQL database
    python bench/request_cost.py --datasets 100000 --database-url postgresql://postgres@127.0.0.1/catalogue

`--datasets N` counts on catalogue_bench.py's catalogue of N datasets (built once through the real sync
if missing): bench/out/catalogue-N.db, or with a PostgreSQL --database-url the database <its name>_N.

For each page (the benchmark's minimal route, the home page, the catalogue, a search, a dataset page when
the catalogue has one) it reports, per request of a visitor without cookies (as wrk sends them): the
Python function calls (cProfile; through the test client, and of raw WSGI calls as a server makes
them), the SQL statements and commits the request runs itself (the activity backlog's writer is held
back and counted apart, per event), the cookies set and the bytes sent. The timings of
catalogue_bench.py need a quiet machine; these counts do not (issue 20).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MINIMAL = (
    '{% extends "base.html" %}{% block content %}<h1>{{ title }}</h1><ul>'
    "{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>{% endblock %}"
)


def build_app(database: str | None):
    """The portal as catalogue_bench.py serves it, with its minimal route."""
    from flask import render_template

    from portal import create_app

    instance = tempfile.mkdtemp(prefix="request-cost-")
    url = database or os.environ.get("DATABASE_URL") or f"sqlite:///{instance}/cost.db"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "ACTIVITY_FLUSH_MS": 600_000})  # fmt: skip
    if url.startswith("sqlite") and not database:
        with app.app_context():
            from flask_migrate import upgrade

            logging.disable(logging.INFO)  # the migrations' lines
            upgrade(revision="heads")
            logging.disable(logging.NOTSET)
    template = app.jinja_env.from_string(MINIMAL)

    @app.get("/bench/minimal")
    def minimal():
        return render_template(template, title="基准页面", items=[f"数据集 {n}" for n in range(20)])

    return app


def pages(app) -> dict[str, str]:
    from sqlalchemy import select

    from portal.catalogue import rules
    from portal.catalogue.models import Dataset
    from portal.extensions import db

    found = {"minimal": "/bench/minimal", "home": "/", "catalogue": "/datasets/"}
    found["search"] = "/datasets/?q=交通"
    with app.app_context():
        name = db.session.scalar(select(Dataset.name).where(rules.published()).limit(1))
    if name:
        found["dataset"] = f"/datasets/{name}"
    return found


def measure(app, path: str, requests: int) -> dict:
    """Warm the caches, then count `requests` views of `path` by visitors without cookies."""
    from sqlalchemy import event

    from portal.extensions import db

    for _ in range(3):
        app.test_client().get(path)
    _drain()
    statements: list[str] = []
    commits: list[object] = []

    def statement(conn, cursor, text, *args):
        statements.append(text)

    def commit(conn):
        commits.append(conn)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    profile = cProfile.Profile()
    try:
        for _ in range(requests):
            client = app.test_client()  # no cookies, as wrk sends none
            profile.enable()
            response = client.get(path)
            profile.disable()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    events = len(app.extensions.get("activity_backlog", ()))
    _drain()
    calls = sum(stats[1] for stats in pstats.Stats(profile).stats.values())
    wsgi_calls = _wsgi_calls(app, path, requests)
    return {
        "status": response.status_code,
        "python_calls": round(calls / requests),
        "wsgi_calls": round(wsgi_calls / requests),
        "statements": round(len(statements) / requests, 2),
        "commits": round(len(commits) / requests, 2),
        "events_behind": round(events / requests, 2),
        "cookies": sorted(c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie")),
        "bytes": len(response.get_data()),
    }


def _wsgi_calls(app, path: str, requests: int) -> int:
    """Python calls of `requests` raw WSGI calls of `path` (no test client around them), the body read
    and closed as a server does: what a gunicorn worker's request costs the portal."""
    import io

    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, headers={"Host": "localhost"}).get_environ()

    def call() -> None:
        body = app({**environ, "wsgi.input": io.BytesIO(b"")}, lambda status, headers, exc=None: None)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()

    for _ in range(3):
        call()
    profile = cProfile.Profile()
    for _ in range(requests):
        profile.enable()
        call()
        profile.disable()
    _drain()
    return sum(stats[1] for stats in pstats.Stats(profile).stats.values())


def _drain() -> None:
    """Write the events waiting behind the requests (a checkout from before the backlog has none)."""
    try:
        from portal.activity import backlog
    except ImportError:
        return
    backlog.drain_all()


def _database(args: argparse.Namespace) -> str | None:
    """The database URL the options name; None for DATABASE_URL or a fresh SQLite file."""
    if args.datasets:
        sys.path.insert(0, str(ROOT / "bench"))
        import catalogue_bench

        return catalogue_bench.build(args.datasets, args.database_url or os.environ.get("DATABASE_URL"))
    return f"sqlite:///{Path(args.database).resolve()}" if args.database else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a migrated SQLite file, e.g. bench/out/catalogue-100000.db")
    parser.add_argument("--datasets", type=int, help="catalogue_bench.py's catalogue of this many datasets")
    parser.add_argument("--database-url", help="with --datasets: a PostgreSQL URL as in catalogue_bench")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args()
    app = build_app(_database(args))
    figures = {label: measure(app, path, args.requests) for label, path in pages(app).items()}
    for label, f in figures.items():
        print(f"{label:>10}: {f['python_calls']:6d} calls ({f['wsgi_calls']:5d} raw WSGI), "
              f"{f['statements']:5.2f} statements, "
              f"{f['commits']:4.2f} commits, {f['events_behind']:4.2f} events behind, "
              f"{f['bytes']:6d} bytes, cookies {f['cookies']} (HTTP {f['status']})")  # fmt: skip
    if args.json:
        from portal.extensions import db

        with app.app_context():
            figures["database"] = db.engine.dialect.name  # "sqlite" or "postgresql"
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
