"""Benchmark the metrics rollup and the statistics pages on generated large data.

    python bench/metrics_bench.py                     # 1,000,000 events, 100,000 datasets, SQLite
    python bench/metrics_bench.py --events 10000000   # the full size: 10 million events
    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/metrics_bench
    python bench/metrics_bench.py --events 10000000   # on PostgreSQL

Generates a catalogue (datasets with resources, departments in every county, themes), users, and
`--events` activity events at `--per-day` a day ending yesterday (Asia/Shanghai), loaded with
COPY on PostgreSQL and executemany on SQLite (the event indexes are built after the load). Rolls
up the history, then times:
- the rollup of one new day of `--per-day` events (with the catalogue snapshot it takes);
- an incremental run (re-rolls the watermark day, rolls the new day and today);
- each statistics page and the API, as the office and the public see them (median of 10).
The database is SQLite in a temporary folder, or the PostgreSQL database DATABASE_URL names
(its schema is dropped and rebuilt). Prints the figures; not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portal import clock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENT_COLUMNS = (
    "occurred_at", "kind", "user_id", "visitor_hash", "region_id", "dataset_id", "resource_id", "path",
    "ip_hash", "is_bot",
)  # fmt: skip
ANONYMOUS_KINDS = (
    ["page_view"] * 50 + ["dataset_view"] * 25 + ["search"] * 10 + ["download"] * 10 + ["api_call"] * 5
)
USER_KINDS = (
    ["page_view"] * 30 + ["dataset_view"] * 30 + ["download"] * 15 + ["api_call"] * 20 + ["sign_in"] * 5
)
HOURS = [1, 1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 12, 8, 10, 14, 14, 12, 9, 6, 6, 7, 6, 3, 2]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="raw events of history (10,000,000: full)"
    )
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--per-day", type=int, default=100_000, help="events a day, and in the new day")
    parser.add_argument("--users", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        run(url, tmp, args)


def run(url: str, tmp: str, args) -> None:
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.seeding import load_regions

    app = create_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False}
    )
    on_postgres = url.startswith("postgres")
    database = "PostgreSQL" if on_postgres else "SQLite"
    print(f"database: {database}; {args.events:,} events of history, {args.per_day:,} a day; "
          f"{args.datasets:,} datasets; {args.users:,} users", flush=True)  # fmt: skip
    with app.app_context():
        if on_postgres:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade(revision="heads")
        load_regions()
        db.session.commit()
        rng = random.Random(7)
        began = time.perf_counter()
        catalogue = make_catalogue(rng, args.datasets)
        users = make_users(rng, args.users)
        print(f"catalogue and users generated in {time.perf_counter() - began:.0f} s", flush=True)
        now = datetime.now(UTC)
        history_days = max(1, args.events // args.per_day)

        new_day = clock.day_of(now) - timedelta(days=1)
        first_day = new_day - timedelta(days=history_days)
        began = time.perf_counter()
        with without_event_indexes(db, on_postgres):
            load_events(db, on_postgres, rng, catalogue, users, first_day, history_days, args.per_day)
        print(f"{history_days * args.per_day:,} history events loaded and indexed in "
              f"{time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
        measure(app, db, on_postgres, rng, catalogue, users, first_day, new_day, now, args.per_day)
        db.session.remove()
        db.engine.dispose()


def make_catalogue(rng: random.Random, count: int) -> dict:
    """Insert departments, themes, `count` datasets with 1–4 resources each; return their ids."""
    from sqlalchemy import insert, select

    from portal.catalogue.models import Dataset, Department, Resource, Theme, dataset_themes
    from portal.extensions import db
    from portal.regions.models import Region

    regions = list(db.session.scalars(select(Region.id)))
    db.session.execute(insert(Department), [
        dict(ckan_id=f"org-{n}", name=f"org-{n}", title=f"部门{n}", region_id=regions[n % len(regions)],
             region_source="extra") for n in range(200)
    ])  # fmt: skip
    departments = list(db.session.scalars(select(Department.id)))
    names = ["jtcx", "ylws", "jypx", "whly", "sqfw", "shxy", "phjr", "yshj", "sthj", "shzl"]
    db.session.execute(
        insert(Theme),
        [
            dict(ckan_id=f"group-{n}", name=names[n] if n < 10 else f"theme-{n}", title=f"主题{n}")
            for n in range(30)
        ],
    )
    themes = list(db.session.scalars(select(Theme.id)))
    modified = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, count, 10_000):
        rows = [
            _dataset(n, rng.choice(departments), modified) for n in range(start, min(start + 10_000, count))
        ]
        db.session.execute(insert(Dataset.__table__), rows)
    datasets = list(db.session.scalars(select(Dataset.id)))
    resources, links = [], []
    for dataset_id in datasets:
        resources += [_resource(rng, dataset_id, position) for position in range(rng.randint(1, 4))]
        for theme_id in rng.sample(themes, rng.choice((0, 1, 1, 2))):
            links.append({"dataset_id": dataset_id, "theme_id": theme_id})
    for start in range(0, len(resources), 20_000):
        db.session.execute(insert(Resource.__table__), resources[start : start + 20_000])
    db.session.execute(insert(dataset_themes), links)
    db.session.commit()
    return {"datasets": datasets, "resources": len(resources)}


def _dataset(n: int, department_id: int, modified: datetime) -> dict:
    return dict(
        ckan_id=f"ds-{n}", name=f"dataset-{n}", title=f"数据集{n}", notes="", department_id=department_id,
        open_condition="unconditional", author="", maintainer="", source_url="", extras={},
        metadata_modified=modified, state="withdrawn" if n % 50 == 0 else "published",
        first_synced_at=modified, last_synced_at=modified, download_count=0,
    )  # fmt: skip


def _resource(rng: random.Random, dataset_id: int, position: int) -> dict:
    measured = rng.random() < 0.8  # the rest have no known records and fields
    return dict(
        ckan_id=f"res-{dataset_id}-{position}", dataset_id=dataset_id, format="CSV", url="https://x/r.csv",
        position=position, state="active" if rng.random() < 0.97 else "removed",
        records=rng.randint(10, 50_000) if measured else None,
        fields=rng.randint(3, 30) if measured else None,
        is_valid=measured, datastore_active=False, download_count=0, name="", description="", mimetype="",
    )  # fmt: skip


def make_users(rng: random.Random, count: int) -> list[tuple[int, int | None]]:
    """Insert developers and county members; return (user id, county id or None)."""
    from sqlalchemy import insert, select

    from portal.accounts.models import User
    from portal.extensions import db
    from portal.regions.models import Region

    counties = list(db.session.scalars(select(Region.id).where(Region.level == "county")))
    created = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        county = counties[n % len(counties)] if n % 4 == 0 else None
        rows.append(dict(email=f"user{n}@bench.example", display_name=f"用户{n}", password_hash="x",
                         role="county_member" if county else "developer", region_id=county, organization="",
                         active=True, created_at=created))  # fmt: skip
    db.session.execute(insert(User.__table__), rows)
    db.session.commit()
    return [(u, r) for u, r in db.session.execute(select(User.id, User.region_id))]


def event_rows(rng, catalogue, users, day, count: int):
    """Yield `count` event tuples of a Shanghai `day` in EVENT_COLUMNS order, occurred_at naive UTC."""

    start = clock.day_start(day).replace(tzinfo=None)
    datasets = catalogue["datasets"]
    visitors = [hashlib.sha256(f"v{n}".encode()).hexdigest() for n in range(5_000)]
    active = rng.sample(users, min(len(users), 3_000))  # the day's registered users
    hours = rng.choices(range(24), weights=HOURS, k=count)
    for n in range(count):
        at = start + timedelta(hours=hours[n], seconds=rng.random() * 3600)
        if rng.random() < 0.3:
            user_id, region_id = active[int(rng.paretovariate(1.2)) % len(active)]
            kind, visitor = rng.choice(USER_KINDS), None
        else:
            user_id = region_id = None
            kind, visitor = (
                rng.choice(ANONYMOUS_KINDS),
                visitors[rng.randrange(5_000) if n % 7 else n % 5_000],
            )
        dataset_id = rng.choice(datasets) if kind in ("dataset_view", "download", "api_call") else None
        yield (
            at,
            kind,
            user_id,
            visitor,
            region_id,
            dataset_id,
            None,
            "/datasets/",
            visitors[n % 97],
            rng.random() < 0.03,
        )


def load_events(db, on_postgres, rng, catalogue, users, first_day, days: int, per_day: int) -> None:
    for n in range(days):
        insert_events(
            db, on_postgres, event_rows(rng, catalogue, users, first_day + timedelta(days=n), per_day)
        )
        if n % 10 == 9:
            print(f"  … {(n + 1) * per_day:,} events", flush=True)


def insert_events(db, on_postgres, rows) -> None:
    """Load raw event tuples: COPY on PostgreSQL, executemany on SQLite."""
    connection = db.session.connection().connection.driver_connection
    names = ", ".join(EVENT_COLUMNS)
    if on_postgres:
        with connection.cursor() as cursor, cursor.copy(f"COPY activity_events ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in EVENT_COLUMNS)
        as_text = ((r[0].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[1:]) for r in rows)
        connection.executemany(f"INSERT INTO activity_events ({names}) VALUES ({marks})", as_text)
    db.session.commit()


class without_event_indexes:
    """Drop the event table's indexes for a bulk load, then build them again and analyse."""

    def __init__(self, db, on_postgres: bool) -> None:
        self.db, self.on_postgres = db, on_postgres
        from portal.activity.models import ActivityEvent

        self.indexes = list(ActivityEvent.__table__.indexes)

    def __enter__(self):
        for index in self.indexes:
            index.drop(self.db.session.connection())
        self.db.session.commit()

    def __exit__(self, *exc):
        for index in self.indexes:
            index.create(self.db.session.connection())
        self.db.session.commit()
        with self.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def timed(action) -> tuple[float, object]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


def measure(app, db, on_postgres, rng, catalogue, users, first_day, new_day, now, per_day: int) -> None:
    from portal.metrics import rollup, snapshots

    seconds, result = timed(
        lambda: rollup.roll_up(now=now, since=first_day, until=new_day - timedelta(days=1))
    )
    db.session.commit()
    print(f"history rolled up: {result.days} days, {result.events:,} events counted, in {seconds:.1f} s "
          f"({seconds / max(result.days, 1):.2f} s a day)", flush=True)  # fmt: skip
    insert_events(db, on_postgres, event_rows(rng, catalogue, users, new_day, per_day))
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE activity_events")
        conn.commit()
    seconds, result = timed(lambda: rollup.roll_up(now=now, since=new_day, until=new_day))
    db.session.commit()
    print(
        f"ROLLUP of one new day ({per_day:,} events, with the catalogue snapshot): {seconds:.2f} s",
        flush=True,
    )
    snapshot_s, _ = timed(lambda: snapshots.take(new_day, rollup.city_id(), now))
    db.session.rollback()
    print(f"  of which the catalogue snapshot ({len(catalogue['datasets']):,} datasets, "
          f"{catalogue['resources']:,} resources): {snapshot_s:.2f} s", flush=True)  # fmt: skip
    seconds, result = timed(lambda: rollup.roll_up(now=now))
    db.session.commit()
    print(
        f"incremental run ({result.first} … {result.last}, {result.days} days): {seconds:.2f} s", flush=True
    )
    pages(app, db)


def pages(app, db) -> None:
    from sqlalchemy import select

    from portal.accounts.models import User

    year = datetime.now(UTC).year
    admin = User(email="admin@bench.example", display_name="管理员", password_hash="x", role="admin")
    db.session.add(admin)
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(db.session.scalar(select(User.id).where(User.role == "admin")))
        session["_fresh"] = True
    urls = [
        "/stats/",
        f"/stats/?year={year}&sort=per_capita_volume&order=desc",
        "/stats/methodology",
        f"/api/v1/metrics/counties?year={year}",
        "/admin/metrics/",
        "/admin/metrics/?county=330402&sort=downloads",
        "/admin/metrics/export.csv?table=scorecard",
        "/admin/metrics/export.xlsx",
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url  # warm: templates compiled, caches filled
        runs = []
        for _ in range(10):
            began = time.perf_counter()
            response = client.get(url)
            runs.append(time.perf_counter() - began)
            assert response.status_code == 200
        print(f"PAGE {url:<55} median {statistics.median(runs) * 1000:6.1f} ms, "
              f"max {max(runs) * 1000:6.1f} ms", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
