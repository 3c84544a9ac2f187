"""Download counts: once per user or anonymous visitor, dataset (and resource) and day; crawlers never.

They feed the catalogue's "most downloaded" sort, the dataset page, and (through the download events the
rollup counts) the counties' figures, so a refresh loop or a crawler must not move them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from catalogue_factories import counts, download_url, make_dataset, mirrored
from factories import make_user
from sqlalchemy import func, select

from portal.activity.models import DownloadMark
from portal.catalogue import downloads
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.metrics import rollup
from portal.metrics.models import DailyActivity

BROWSER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"}


def fetch(client, dataset, resource, *, address: str = "10.0.0.1", agent: dict = BROWSER) -> int:
    return client.get(
        download_url(dataset, resource), headers=agent, environ_base={"REMOTE_ADDR": address}
    ).status_code


def test_a_signed_in_user_counts_once_per_dataset_a_day_wherever_they_come_from(client, login):
    login("developer")
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    codes = [fetch(client, dataset, resource, address=f"10.0.0.{n}") for n in range(1, 6)]
    assert codes == [200] * 5
    assert counts(dataset, resource) == (1, 1, 1)


def test_anonymous_visitors_are_told_apart_by_address_not_by_cookie_or_agent(app):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    for n in range(4):  # a fresh client each time: no cookie carried over; a new browser string each time
        agent = {"User-Agent": f"Mozilla/5.0 Firefox/{100 + n}.0"}
        assert fetch(app.test_client(), dataset, resource, agent=agent) == 200
    assert counts(dataset, resource) == (1, 1, 1)
    assert fetch(app.test_client(), dataset, resource, address="10.0.0.2") == 200
    assert counts(dataset, resource) == (2, 2, 2)


def test_users_count_apart_from_each_other_and_from_anonymous_visitors_of_the_same_address(app, make_app):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    for role in ("developer", "county_member"):
        user = make_user(role)
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = user.get_id(), True
        assert fetch(client, dataset, resource) == 200
    assert fetch(app.test_client(), dataset, resource) == 200
    assert counts(dataset, resource) == (3, 3, 3)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Sogou web spider/4.0",
        "python-requests/2.32.3",
        "curl/8.5.0",
        "",
    ],
)
def test_crawlers_and_agentless_requests_are_served_but_never_counted(app, agent):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    for n in range(3):
        assert (
            fetch(app.test_client(), dataset, resource, address=f"10.1.0.{n}", agent={"User-Agent": agent})
            == 200
        )
    assert counts(dataset, resource)[:2] == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(DownloadMark)) == 0


def test_each_resource_counts_once_and_the_dataset_once_for_them_all(client):
    dataset = make_dataset(resources=[], index=False)
    first, second = mirrored(dataset), mirrored(dataset, filename="second.csv")
    for resource in (first, second, first, second):
        assert fetch(client, dataset, resource) == 200
    db.session.expire_all()
    assert db.session.get(Dataset, dataset.id).download_count == 1
    assert [db.session.get(Resource, r.id).download_count for r in (first, second)] == [1, 1]


def test_the_next_day_counts_again_and_prunes_the_marks_of_earlier_days(app):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    monday = date(2026, 3, 2)
    assert downloads.count_download(dataset, resource, who="user:1", day=monday) is True
    assert downloads.count_download(dataset, resource, who="user:1", day=monday) is False
    assert downloads.count_download(dataset, resource, who="user:2", day=monday) is True
    assert downloads.count_download(dataset, resource, who="user:1", day=monday + timedelta(days=1)) is True
    db.session.commit()
    assert counts(dataset, resource)[:2] == (3, 3)
    marks = db.session.execute(select(DownloadMark.day, DownloadMark.who)).all()
    assert {day for day, _ in marks} == {monday + timedelta(days=1)}


def test_a_counted_download_shows_at_once_on_the_cached_dataset_page(client):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)

    def shown() -> int:
        page = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
        return int(re.search(r'data-figure="downloads"><strong data-count="(\d+)"', page)[1])

    assert shown() == 0  # the page's public part is cached, stamped by download_count
    fetch(client, dataset, resource)
    assert shown() == 1
    fetch(client, dataset, resource)
    assert shown() == 1


def test_the_counties_figures_count_a_visitor_once_a_day(app):
    dataset = make_dataset(resources=[], index=False)
    resource = mirrored(dataset)
    for _ in range(5):
        fetch(app.test_client(), dataset, resource)
    fetch(app.test_client(), dataset, resource, agent={"User-Agent": "Baiduspider"})
    rollup.roll_up(now=datetime.now(UTC))
    db.session.commit()
    downloads_counted = db.session.scalar(
        select(func.sum(DailyActivity.events)).where(DailyActivity.kind == "download")
    )
    assert downloads_counted == 1
