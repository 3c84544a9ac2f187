"""Demo activity: months of events by the demo accounts and anonymous visitors, then rolled up.

The rhythm of a real portal: busier on weekdays and in office hours, growing over the months, with
a few crawlers (left out of the statistics). Rows go in by bulk inserts straight into
`activity_events`, as the site itself records them. Idempotent: the demo events carry a marker
IP hash, and once any exists nothing is added. Needs the demo accounts and the demo catalogue;
adds and flushes, the caller commits.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from portal import clock
from portal.accounts.models import User
from portal.activity.models import ActivityEvent, DownloadMark
from portal.catalogue import downloads, rules
from portal.catalogue.models import Dataset, Resource
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.metrics import quality_trends, rollup
from portal.metrics.models import QualitySnapshot
from portal.seeding import DEMO_DOMAIN

MARKER = hashlib.sha256(b"portal demo activity").hexdigest()  # the ip_hash of every demo event
BATCH = 5_000
HOURS = [0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 9, 8, 5, 6, 9, 9, 8, 6, 4, 4, 5, 4, 2, 1]  # Shanghai hour weights


def seed_demo_activity(days: int = 180, *, now: datetime | None = None) -> int:
    """Add `days` days of demo events up to now, roll them up; return how many events were added."""
    if db.session.scalar(select(ActivityEvent.id).where(ActivityEvent.ip_hash == MARKER).limit(1)):
        return 0
    now = now or utcnow()
    rng = random.Random(2020)
    users = list(db.session.scalars(select(User).where(User.email.like(f"%@{DEMO_DOMAIN}"))))
    datasets = list(db.session.execute(select(Dataset.id, Dataset.name).where(rules.published())))
    resources: dict[int, list[int]] = {}
    for resource_id, dataset_id in db.session.execute(
        select(Resource.id, Resource.dataset_id).where(Resource.state == "active")
    ):
        resources.setdefault(dataset_id, []).append(resource_id)
    today = clock.day_of(now)
    first = today - timedelta(days=days)
    table = ActivityEvent.__table__  # a Core insert: one executemany per batch, not one statement per row
    rows: list[dict] = []
    added = 0
    seen: set[tuple] = set()  # (day, who, dataset): a download counts once a day, as on the site
    marks: list[dict] = []  # today's, so that a real download today by the same user counts no more
    for day in clock.days(first, today):
        growth = 0.5 + (day - first).days / max(days, 1)  # from half to one and a half of the base
        weekday = day.weekday() < 5
        visits = int(rng.gauss(90, 12) * growth * (1 if weekday else 0.45))
        new = _visitors(rng, day, visits, datasets, resources) + _users(
            rng, day, users, datasets, resources, weekday
        )
        rows += [r for r in new if r["occurred_at"] <= now and _counts_once(r, seen, today, marks)]
        if len(rows) >= BATCH:
            db.session.execute(insert(table), rows)
            added, rows = added + len(rows), []
    if rows:
        db.session.execute(insert(table), rows)
        added += len(rows)
    if marks:
        db.session.execute(insert(DownloadMark.__table__), marks)
    downloads.recount_from_events()  # cards, pages and APIs show what the statistics count
    rollup.roll_up(now=now, since=first, until=today)
    return added


def _counts_once(row: dict, seen: set[tuple], today, marks: list[dict]) -> bool:
    """Keep a download only the first time its user or visitor takes the dataset that day."""
    if row["kind"] != "download" or row["is_bot"]:
        return True
    day = clock.day_of(row["occurred_at"])
    who = f"user:{row['user_id']}" if row["user_id"] else row["visitor_hash"]
    if (day, who, row["dataset_id"]) in seen:
        return False
    seen.add((day, who, row["dataset_id"]))
    if day == today:
        for mark in (0, row["resource_id"]):
            marks.append(dict(day=day, who=who, dataset_id=row["dataset_id"], resource_id=mark))
    return True


def _moment(rng: random.Random, day) -> datetime:
    hour = rng.choices(range(24), weights=HOURS)[0]
    return clock.day_start(day) + timedelta(hours=hour, seconds=rng.randrange(3600))


def _event(kind: str, at: datetime, path: str, **values) -> dict:
    event = dict(
        occurred_at=at, kind=kind, user_id=None, visitor_hash=None, region_id=None, dataset_id=None,
        resource_id=None, path=path, ip_hash=MARKER, is_bot=False,
    )  # fmt: skip
    event.update(values)
    return event


def _visitors(rng, day, count: int, datasets, resources) -> list[dict]:
    """Anonymous visits: a few pages each, some dataset views, searches and downloads; some crawlers."""
    rows = []
    for _visit in range(max(count, 0)):
        is_bot = rng.random() < 0.06
        who = {"visitor_hash": hashlib.sha256(f"demo-visitor-{rng.randrange(4000)}".encode()).hexdigest()}
        at = _moment(rng, day)
        rows.append(_event("page_view", at, "/", is_bot=is_bot, **who))
        for _step in range(rng.randrange(1, 5)):
            at += timedelta(seconds=rng.randrange(10, 240))
            rows += _step_on_data(rng, at, datasets, resources, is_bot=is_bot, **who)
    return rows


def _step_on_data(rng, at, datasets, resources, **who) -> list[dict]:
    if not datasets:
        return [_event("search", at, "/datasets/", **who)]
    dataset_id, name = rng.choice(datasets)
    roll = rng.random()
    if roll < 0.2:
        return [_event("search", at, "/datasets/", **who)]
    rows = [_event("dataset_view", at, f"/datasets/{name}", dataset_id=dataset_id, **who)]
    if roll > 0.75 and resources.get(dataset_id):
        resource_id = rng.choice(resources[dataset_id])
        path = f"/datasets/{name}/resources/{resource_id}/download"
        rows.append(_event("download", at + timedelta(seconds=20), path, dataset_id=dataset_id,
                           resource_id=resource_id, **who))  # fmt: skip
    return rows


def _users(rng, day, users, datasets, resources, weekday: bool) -> list[dict]:
    """Signed-in demo users: county teams and the office on working days, the developer's API calls."""
    rows = []
    for user in users:
        chance = {"admin": 0.85, "county_member": 0.55, "developer": 0.7, "judge": 0.1}.get(user.role, 0.2)
        if rng.random() > (chance if weekday else chance / 4):
            continue
        who = {"user_id": user.id, "region_id": user.region_id}
        at = _moment(rng, day)
        rows.append(_event("sign_in", at, "/account/sign-in", **who))
        for _step in range(rng.randrange(2, 8)):
            at += timedelta(seconds=rng.randrange(10, 300))
            rows += _step_on_data(rng, at, datasets, resources, **who)
        if user.role == "developer" and datasets:
            for _call in range(rng.randrange(5, 40)):
                dataset_id, name = rng.choice(datasets)
                at += timedelta(seconds=rng.randrange(1, 60))
                rows.append(_event("api_call", at, f"/api/v1/datasets/{name}", dataset_id=dataset_id, **who))
    return rows


def seed_demo_quality_trend(days: int = 30, *, now: datetime | None = None) -> int:
    """Fill the quality trend's missing days among the last `days` (today included) with the snapshot the
    rollup's `quality_trends.take` makes of the catalogue as it stands, measured at the end of each past day
    (today: now). The demo catalogue is synced once, so over those days its datasets fall overdue as their
    declared frequencies say, and the board's trend has a line to show. Return how many days were added."""
    now = now or utcnow()
    today = clock.day_of(now)
    have = set(db.session.scalars(select(QualitySnapshot.day).distinct()))
    added = 0
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        if day in have:
            continue
        moment = now if back == 0 else clock.day_start(day + timedelta(days=1)) - timedelta(seconds=1)
        quality_trends.take(day, moment)
        added += 1
    db.session.flush()
    return added
