"""The audit log's cost (issue 15 item 4): what one row adds to a request; verifying 1,000,000 rows.

    python bench/audit_bench.py                                   # SQLite file in bench/out
    python bench/audit_bench.py --database-url postgresql://postgres@127.0.0.1:5432/portal_bench_audit
    python bench/audit_bench.py --rows 200000 --requests 500
    python bench/audit_bench.py --rows 200000 --requests 300 --profile   # counts, not times

1. Per request: a route that writes one row of its own and commits, and a route that does the same with
   one `audit.log.record` in it (the sign-in's pattern: record, then commit), are requested in turn
   `--requests` times each. Prints the median and p95 of each and the difference (target: under
   0.5 ms), then the CPU time per request of each (this process and, on PostgreSQL, the server's
   backends serving it, read from /proc): a busy machine stretches it far less than the times.
2. Verify: fills the log to `--rows` chained rows (bulk, hashes computed as `record` does), then times
   `audit.log.verify` over all of them (target: under 60 s for 1,000,000). The table is analysed after
   filling, as autovacuum would: without statistics PostgreSQL sorts the table for each batch.
With --profile, the same runs under cProfile and print what a busy machine cannot blur: Python calls
and SQL statements per request (each one round trip: on PostgreSQL an audit row is one statement,
on SQLite three), and Python calls per verified row.
Not a unit test: it prints its figures.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
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


class Counts:
    """Python calls (cProfile) and SQL statements (the engine's events) over a stretch of work."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._count)
        self.profile = cProfile.Profile()

    def _count(self, *args) -> None:
        self.statements += 1

    def __enter__(self) -> Counts:
        self.statements = 0
        self.profile.enable()
        return self

    def __exit__(self, *exc) -> None:
        self.profile.disable()
        self.calls = pstats.Stats(self.profile).total_calls
        self.profile = cProfile.Profile()


def per_request(app, requests: int, profile: bool = False) -> None:
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
    if profile:
        with app.app_context():
            counts = Counts(db.engine)
        for path in ("/bench-plain", "/bench-audited"):
            for _ in range(50):  # warm up
                client.get(path)
            with counts:
                for _ in range(requests):
                    client.get(path)
            print(
                f"{path:15} {counts.calls / requests:.0f} Python calls, "
                f"{counts.statements / requests:.1f} SQL statements per request through SQLAlchemy"
            )
        return
    for path in ("/bench-plain", "/bench-audited"):  # warm up
        for _ in range(50):
            client.get(path)
    timings = {"/bench-plain": [], "/bench-audited": []}
    for _ in range(requests):  # one of each in turn: on a busy machine both see the same load
        for path, samples in timings.items():
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
    for path, samples in timings.items():
        q = statistics.quantiles(samples, n=20)
        median = statistics.median(samples)
        print(f"{path:15} median {median:.3f} ms  p95 {q[18]:.3f} ms  ({requests} requests)")
    added = statistics.median(timings["/bench-audited"]) - statistics.median(timings["/bench-plain"])
    print(f"one audit row adds {added:.3f} ms to a request (median; target < 0.5 ms)")
    with app.app_context():  # the server's processes serving this benchmark's connections (its own database)
        backends = []
        if db.engine.dialect.name == "postgresql":
            backends = db.session.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend'"
            )).all()  # fmt: skip
        db.session.remove()
    cpu = {}
    for path in timings:
        started = _cpu_seconds(backends)
        for _ in range(requests):
            client.get(path)
        cpu[path] = (_cpu_seconds(backends) - started) * 1000 / requests
    print(
        f"CPU per request ({'this process and its PostgreSQL backends' if backends else 'this process'}): "
        f"{cpu['/bench-plain']:.3f} ms plain, {cpu['/bench-audited']:.3f} ms audited, one audit row "
        f"{cpu['/bench-audited'] - cpu['/bench-plain']:.3f} ms (a busy machine stretches it less than times)"
    )


def _cpu_seconds(backends: list[int]) -> float:
    """CPU time used so far by this process and the PostgreSQL backends given (the server runs on this
    machine; /proc counts in clock ticks, so measure over hundreds of requests)."""
    used = time.process_time()
    for pid in backends:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return used


def fill(app, rows: int, batch: int = 20_000) -> None:
    from sqlalchemy import func, insert, select, text, update

    from portal.audit import log
    from portal.audit.models import AuditChain, AuditEvent
    from portal.dbtypes import utcnow
    from portal.extensions import db

    with app.app_context():
        have = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        last = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        link = prev = db.session.scalar(last) or log.GENESIS
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
                link, prev = prev, hashed
            db.session.execute(insert(AuditEvent), chunk)
            db.session.commit()
        if rows > have:  # the chain's head follows the last row, as `record` leaves it
            db.session.execute(update(AuditChain).values(prev_hash=link, hash=prev))
            db.session.execute(text("ANALYZE audit_events"))
            db.session.commit()
            print(f"filled {rows - have} rows in {time.perf_counter() - start:.1f} s")


def verify(app, profile: bool = False) -> None:
    from portal.audit import log
    from portal.extensions import db

    with app.app_context():
        if profile:
            with Counts(db.engine) as counts:
                verdict = log.verify(db.session)
            print(
                f"verify: {verdict.rows} rows, {counts.calls / max(verdict.rows, 1):.1f} Python calls per row"
            )
            return
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
    parser.add_argument("--profile", action="store_true", help="count calls and statements instead of timing")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    from flask_migrate import upgrade

    app = app_for(args.database_url)
    with app.app_context():
        upgrade(revision="heads")
    fill(app, args.rows)
    per_request(app, args.requests, args.profile)
    verify(app, args.profile)


if __name__ == "__main__":
    main()
