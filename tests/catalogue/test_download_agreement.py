"""One download count, shown alike on the cards, the dataset page, the API and /stats/.

A download is a download event that is not a crawler's: the site records one exactly when a user or
visitor first takes a dataset that day (`downloads.count_download`); the demo's events follow the same
rule, and the counts are set from them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from catalogue_factories import make_dataset, make_department
from factories import make_user
from sqlalchemy import func, select

from portal import clock
from portal import seeding
from portal.catalogue import downloads
from portal.catalogue.models import Dataset
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.metrics import demo, rollup
from portal.activity.models import ActivityEvent

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
CRAWLER = {"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}


def shown_counts(client, datasets: list[Dataset], year: int) -> dict[str, object]:
    """Read each surface's download counts: per dataset on cards, pages and the API; /stats/' total."""
    cards_html = client.get("/datasets/?sort=downloads").get_data(as_text=True)
    cards = {
        d.name: int(
            re.search(rf'data-dataset="{d.name}".*?data-downloads="(\d+)"', cards_html, re.S).group(1)
        )
        for d in datasets
    }
    pages = {}
    for d in datasets:
        html = client.get(f"/datasets/{d.name}").get_data(as_text=True)
        pages[d.name] = int(re.search(r'data-figure="downloads"><strong data-count="(\d+)"', html).group(1))
    api = {d.name: client.get(f"/api/v1/datasets/{d.name}").json["download_count"] for d in datasets}
    stats_html = client.get(f"/stats/?year={year}").get_data(as_text=True)
    stats = int(re.search(r'data-figure="downloads" data-value="(\d+)"', stats_html).group(1))
    return {"cards": cards, "pages": pages, "api": api, "stats": stats}


def counted_events() -> int:
    return db.session.scalar(
        select(func.count()).where(ActivityEvent.kind == "download", ActivityEvent.is_bot.is_(False))
    )


def test_demo_downloads_agree_on_cards_page_api_and_stats(app, client):
    seeding.create_demo_accounts()
    department = make_department(region_code="330411")
    datasets = [
        make_dataset(title=title, department=department, resources=[{"records": 10, "fields": 3}])
        for title in ("秀洲区公交站点", "秀洲区停车场", "秀洲区公共自行车")
    ]
    db.session.commit()
    now = datetime(2026, 6, 30, 4, tzinfo=UTC)
    demo.seed_demo_activity(days=40, now=now)
    db.session.commit()
    db.session.expire_all()
    counts = {d.name: d.download_count for d in datasets}
    assert sum(counts.values()) == counted_events() > 0
    shown = shown_counts(client, datasets, 2026)
    assert shown == {"cards": counts, "pages": counts, "api": counts, "stats": sum(counts.values())}


def test_demo_counts_a_download_once_per_user_or_visitor_dataset_and_day(app):
    seeding.create_demo_accounts()
    department = make_department(region_code="330411")
    make_dataset(title="秀洲区公交站点", department=department, resources=[{"records": 10, "fields": 3}])
    demo.seed_demo_activity(days=60, now=datetime(2026, 6, 30, 4, tzinfo=UTC))
    rows = db.session.execute(
        select(
            ActivityEvent.occurred_at,
            ActivityEvent.user_id,
            ActivityEvent.visitor_hash,
            ActivityEvent.dataset_id,
        ).where(ActivityEvent.kind == "download", ActivityEvent.is_bot.is_(False))
    ).all()
    keys = [(clock.day_of(at), user or visitor, dataset) for at, user, visitor, dataset in rows]
    assert len(keys) == len(set(keys)) > 10


def test_live_downloads_agree_on_cards_page_api_and_stats(app, client, login):
    department = make_department(region_code="330402")
    bus = make_dataset(title="南湖区公交站点", department=department, resources=[{"format": "CSV"}] * 2)
    toilets = make_dataset(title="南湖区公共厕所分布", department=department)
    db.session.commit()
    bus_files = [f"/datasets/{bus.name}/resources/{r.ckan_id}/download" for r in bus.resources]
    toilet_file = f"/datasets/{toilets.name}/resources/{toilets.resources[0].ckan_id}/download"
    visitor = app.test_client()
    for path in (*bus_files, bus_files[0], toilet_file):  # one visitor, one day: once per dataset
        assert visitor.get(path, headers=BROWSER).status_code == 302
    assert app.test_client().get(bus_files[0], headers=CRAWLER).status_code == 302  # never counted
    login("developer")
    client.get(bus_files[1], headers=BROWSER)
    client.get(bus_files[1], headers=BROWSER)
    rollup.roll_up(now=utcnow())
    db.session.commit()
    db.session.expire_all()
    assert (bus.download_count, toilets.download_count) == (2, 1)
    assert counted_events() == 3
    counts = {bus.name: 2, toilets.name: 1}
    year = clock.day_of(utcnow()).year
    assert shown_counts(app.test_client(), [bus, toilets], year) == {
        "cards": counts,
        "pages": counts,
        "api": counts,
        "stats": 3,
    }


def test_recount_sets_counts_from_counted_events_only(app):
    dataset = make_dataset(title="嘉兴市公交线路", download_count=99)
    user = make_user("developer")
    resource = dataset.resources[0]
    for bot in (False, False, True):
        db.session.add(
            ActivityEvent(
                occurred_at=utcnow(), kind="download", user_id=user.id, dataset_id=dataset.id,
                resource_id=resource.id, path="/", ip_hash="ip", is_bot=bot,
            )
        )  # fmt: skip
    db.session.flush()
    downloads.recount_from_events()
    assert (dataset.download_count, resource.download_count) == (2, 2)
