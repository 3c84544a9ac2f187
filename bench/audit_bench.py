"""The audit log's cost (issue 15 item 4): what one row adds to a request; verifying 1,000,000 rows.

    python bench/audit_bench.py                                   # SQLite file in bench/out
    python bench/audit_bench.py --database-url postgresql://postgres@127.0.0.1:5432/portal_bench_audit
    python bench/audit_bench.py --rows 200000 --requests 500

1. Per request: a route that writes one row of its own and commits is requested `--requests` times, then a
   route that does the same with one `audit.log.record` in it (the sign-in's pattern: record,
   then commit). Prints the median and p95 of each and the difference (target: under 0.5 ms).
2. Verify: fills the log to `--rows` chained rows (bulk, hashes computed as `record` does), then times
   `audit.log.verify` over all of them (target: under 60 s for 1,000,000).
Not a unit test: it prints its figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def app_for(database_url: str):
    from portal import create_app

    return create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(OUT / "instance"),
            "STORAGE_URL": str(OUT / "audit-storage"),
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
        }
    )


def per_request(app, requests: int) -> None:
    from flask import Flask

    from portal.audit import log
    from portal.audit import web as audit_web
    from portal.extensions import db

    assert isinstance(app, Flask)

    from sqlalchemy import text

    with app.app_context():  # every audited request writes something of its own: so does the baseline
        db.session.execute(text("CREATE TABLE IF NOT EXISTS bench_writes (n INTEGER NOT NULL)"))
        db.session.commit()
    write = text("INSERT INTO bench_writes (n) VALUES (1)")

    def plain():
        db.session.execute(write)
        db.session.commit()
        return "ok"

    def audited():
        db.session.execute(write)
        log.record(db.session, "bench.request", object_type="bench", object_id=1, client=audit_web.client())
        db.session.commit()
        return "ok"

    app.add_url_rule("/bench-plain", "bench_plain", plain)
    app.add_url_rule("/bench-audited", "bench_audited", audited)
    client = app.test_client()
    timings = {}
    for path in ("/bench-plain", "/bench-audited") * 2:  # the first pair warms up
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
        timings[path] = samples
    for path, samples in timings.items():
        q = statistics.quantiles(samples, n=20)
        median = statistics.median(samples)
        print(f"{path:15} median {median:.3f} ms  p95 {q[18]:.3f} ms  ({requests} requests)")
    added = statistics.median(timings["/bench-audited"]) - statistics.median(timings["/bench-plain"])
    print(f"one audit row adds {added:.3f} ms to a request (median; target < 0.5 ms)")


def fill(app, rows: int, batch: int = 20_000) -> None:
    from sqlalchemy import func, insert, select

    from portal.audit import log
    from portal.audit.models import AuditEvent
    from portal.dbtypes import utcnow
    from portal.extensions import db

    with app.app_context():
        have = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        last = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        prev = db.session.scalar(last) or log.GENESIS
        start, at = time.perf_counter(), utcnow()
        for first in range(have, rows, batch):
            chunk = []
            for i in range(first, min(rows, first + batch)):
                values = dict(
                    at=at + timedelta(microseconds=i),
                    actor_id=i % 500,
                    actor=f"user{i % 500}@example.cn",
                    role="developer",
                    action="catalogue.conditional_download",
                    object_type="dataset",
                    object_id=f"dataset-{i % 10_000}",
                    before=None,
                    after={"resource": f"r-{i}", "bytes": i * 7},
                    client=log.client_hash(f"10.0.{i % 250}.{i % 200}", "bench"),
                )
                hashed = log.digest(prev, **values)
                chunk.append({**values, "prev_hash": prev, "hash": hashed})
                prev = hashed
            db.session.execute(insert(AuditEvent), chunk)
            db.session.commit()
        if rows > have:
            print(f"filled {rows - have} rows in {time.perf_counter() - start:.1f} s")


def verify(app) -> None:
    from portal.audit import log
    from portal.extensions import db

    with app.app_context():
        started = time.perf_counter()
        verdict = log.verify(db.session)
        took = time.perf_counter() - started
    print(f"verify: {verdict.rows} rows in {took:.1f} s ({'OK' if verdict.ok else 'BROKEN'}; target < 60 s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'audit_bench.db'}")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    from flask_migrate import upgrade

    app = app_for(args.database_url)
    with app.app_context():
        upgrade(revision="heads")
    fill(app, args.rows)
    per_request(app, args.requests)
    verify(app)


if __name__ == "__main__":
    main()
