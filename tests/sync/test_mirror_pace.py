"""Mirroring at the network's pace (issue 20 item 5), against real local HTTP servers.

Files are copied a few at a time, never more than the fetcher's bound overall nor its bound per
host; a host that does not resolve or refuses the connection is remembered for the rest of the run
(its other files skipped, the host recorded once on the run, tried again by the next run); only
transient failures (5xx) are retried, not a 404.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from ckanserver import FakeCkan, serve
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from portal import outbound
from portal.catalogue.models import Resource
from portal.extensions import db
from portal.sync import mirror, remote, run
from portal.sync.models import SyncError, SyncRun

ORG = {"id": "org-jx", "name": "jx-jtj", "title": "嘉兴市交通运输局"}
CSV = "站点,线路\n南湖站,1路\n".encode()
LOCAL = outbound.Guard.from_settings(["127.0.0.0/8"])  # the test servers listen on loopback


class Gauge:
    """Counts requests in flight, per server and over all servers, and keeps the highest counts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0


class SlowFiles:
    """Serves CSV after `delay` seconds; answers 503 to a path's first `fail_first` requests and 404
    to paths under /missing/; counts hits per path and the requests in flight."""

    def __init__(self, overall: Gauge, *, delay: float = 0.0, fail_first: int = 0) -> None:
        self.overall, self.delay, self.fail_first = overall, delay, fail_first
        self.own = Gauge()
        self.hits: dict[str, int] = {}

    def __call__(self, environ, start_response):
        path = Request(environ).path
        with self.own.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            tries = self.hits[path]
        for gauge in (self.own, self.overall):
            with gauge.lock:
                gauge.now += 1
                gauge.peak = max(gauge.peak, gauge.now)
        try:
            time.sleep(self.delay)
        finally:
            for gauge in (self.own, self.overall):
                with gauge.lock:
                    gauge.now -= 1
        if path.startswith("/missing/"):
            return Response("gone", status=404)(environ, start_response)
        if tries <= self.fail_first:
            return Response("busy", status=503)(environ, start_response)
        return Response(CSV, mimetype="text/csv")(environ, start_response)


@pytest.fixture
def fake() -> FakeCkan:
    fake = FakeCkan()
    fake.add_organization(ORG)
    return fake


def publish(fake: FakeCkan, n: int, urls: list[str]) -> None:
    """One dataset, number `n`, with a CSV resource per URL (ids r-<n>-<i>)."""
    fake.add_package(
        {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"bus-stops-{n}",
            "title": "公交站点",
            "organization": ORG,
            "extras": [{"key": "open_condition", "value": "无条件开放"}],
            "resources": [
                {"id": f"r-{n}-{i}", "name": f"站点表{i}", "format": "CSV", "url": url}
                for i, url in enumerate(urls)
            ],
        }
    )


def sync(ckan_url: str, store, fetcher: mirror.Fetcher) -> SyncRun:
    source = remote.CkanSource(ckan_url, timeout=5, retries=0, backoff=0)
    return run.sync(source, run.Settings(mirror=True, full=True), store=store, fetcher=fetcher)


def resources() -> list[Resource]:
    return db.session.scalars(select(Resource).order_by(Resource.ckan_id)).all()


def errors(sync_run: SyncRun) -> list[SyncError]:
    return db.session.scalars(select(SyncError).where(SyncError.run_id == sync_run.id)).all()


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_copies_overlap_but_never_exceed_the_bounds_overall_and_per_host(app, fake, ckan_url, store):
    overall = Gauge()
    first, second = SlowFiles(overall, delay=0.3), SlowFiles(overall, delay=0.3)
    with serve(first) as a, serve(second) as b:
        publish(fake, 1, [f"{a}/a{i}.csv" for i in range(6)] + [f"{b}/b{i}.csv" for i in range(6)])
        sync_run = sync(ckan_url, store, mirror.Fetcher(guard=LOCAL, concurrency=3, per_host=2, backoff=0))
    assert errors(sync_run) == []
    assert all(r.storage_key and r.records == 1 for r in resources()) and len(resources()) == 12
    assert first.own.peak <= 2 and second.own.peak <= 2  # per host
    assert 2 <= overall.peak <= 3  # the copies did overlap, within the overall bound
    assert sum(first.hits.values()) == sum(second.hits.values()) == 6


def test_one_at_a_time_when_the_bound_is_one(app, fake, ckan_url, store):
    overall = Gauge()
    files = SlowFiles(overall, delay=0.05)
    with serve(files) as a:
        publish(fake, 1, [f"{a}/a{i}.csv" for i in range(4)])
        sync(ckan_url, store, mirror.Fetcher(guard=LOCAL, concurrency=1, per_host=1, backoff=0))
    assert overall.peak == 1 and sum(files.hits.values()) == 4


def test_an_unreachable_host_is_tried_once_per_run_and_recorded_once(app, fake, ckan_url, store):
    refused = f"http://127.0.0.1:{closed_port()}"
    unresolved = "http://files.unreachable.invalid"
    files = SlowFiles(Gauge())
    with serve(files) as good:
        publish(fake, 1, [f"{refused}/x{i}.csv" for i in range(3)] + [f"{good}/ok1.csv"])
        publish(
            fake, 2, [f"{refused}/y{i}.csv" for i in range(3)] + [f"{unresolved}/z{i}.csv" for i in range(3)]
        )
        publish(fake, 3, [f"{unresolved}/w.csv", f"{good}/ok3.csv"])
        fetcher = mirror.Fetcher(guard=LOCAL, concurrency=4, per_host=2, retries=3, backoff=0)
        sync_run = sync(ckan_url, store, fetcher)
    assert set(fetcher.unreachable) == {refused.removeprefix("http://"), "files.unreachable.invalid:80"}
    recorded = errors(sync_run)
    assert len(recorded) == 2, [e.message for e in recorded]  # one per host, not one per file
    assert {e.stage for e in recorded} == {"mirror"}
    assert any(
        "connection refused" in e.message and refused.removeprefix("http://") in e.message for e in recorded
    )
    assert any("files.unreachable.invalid:80" in e.message for e in recorded)
    by_url = {r.url: r for r in resources()}
    for url, kept in by_url.items():
        if url.startswith(good):
            assert kept.storage_key and kept.mirror_error is None
        else:  # skipped: a link to its origin, tried again by a --full run
            assert kept.storage_key is None and kept.mirrored_at is None
            assert mirror.UNREACHABLE in kept.mirror_error and kept.invalid_reason == "not_downloadable"
    assert sum(files.hits.values()) == 2


def test_the_next_run_tries_a_host_again(app, fake, ckan_url, store):
    port = closed_port()
    publish(fake, 1, [f"http://127.0.0.1:{port}/a.csv", f"http://127.0.0.1:{port}/b.csv"])
    sync(ckan_url, store, mirror.Fetcher(guard=LOCAL, backoff=0))
    assert all(r.storage_key is None for r in resources())
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, SlowFiles(Gauge()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        sync(ckan_url, store, mirror.Fetcher(guard=LOCAL, backoff=0))
    finally:
        server.shutdown()
        server.server_close()
    assert all(r.storage_key and r.mirror_error is None for r in resources())


def test_transient_failures_are_retried_and_a_missing_file_is_not(app, fake, ckan_url, store):
    files = SlowFiles(Gauge(), fail_first=2)
    with serve(files) as a:
        publish(fake, 1, [f"{a}/busy.csv", f"{a}/missing/gone.csv"])
        sync(ckan_url, store, mirror.Fetcher(guard=LOCAL, retries=3, backoff=0))
    assert files.hits == {"/busy.csv": 3, "/missing/gone.csv": 1}
    busy, gone = resources()
    assert busy.storage_key and busy.mirror_error is None
    assert gone.storage_key is None and gone.mirror_error == "not downloadable: HTTP 404"
