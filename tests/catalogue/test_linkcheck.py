"""Link health against real local HTTP servers (issue 17 item 4): a link that answers, one that 404s, one that
refuses HEAD but answers a ranged GET, one that times out, one unreachable, and an internal address the guard
refuses; the results land in link_checks and in the datasets' broken counts."""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from catalogue_factories import make_dataset

from portal import outbound
from portal.catalogue import linkcheck, quality
from portal.catalogue.quality import LinkCheck
from portal.extensions import db

NOW = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


class Handler(BaseHTTPRequestHandler):
    seen: list = []

    def log_message(self, *args):
        pass

    def _answer(self, with_body: bool):
        Handler.seen.append((self.command, self.path, self.headers.get("Range")))
        if self.path.startswith("/slow"):
            time.sleep(2)
        if self.path.startswith("/missing"):
            status = 404
        elif self.path.startswith("/no-head") and self.command == "HEAD":
            status = 405
        elif self.path.startswith("/no-head"):
            status = 206
        else:
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", "1")
        self.end_headers()
        if with_body:
            self.wfile.write(b"x")

    def do_HEAD(self):
        self._answer(False)

    def do_GET(self):
        self._answer(True)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_kind_of_link_is_recorded(app, server):
    dataset = make_dataset(
        resources=[
            {"url": f"{server}/ok.csv"},
            {"url": f"{server}/missing.csv"},
            {"url": f"{server}/no-head.csv"},
            {"url": f"{server}/slow.csv"},
            {"url": f"http://127.0.0.1:{_closed_port()}/gone.csv"},
            {"url": "ftp://example.cn/file.csv"},  # not http(s): not checked
        ]
    )
    ok, missing, no_head, slow, gone, ftp = dataset.resources
    guard = outbound.Guard.from_settings(["127.0.0.1"])  # the test servers sit on loopback
    results = linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=0.5)
    assert results[ok.id] == linkcheck.Result(200, False)
    assert results[missing.id] == linkcheck.Result(404, True)
    assert results[no_head.id] == linkcheck.Result(206, False)  # HEAD refused, the ranged GET answered
    assert results[slow.id] == linkcheck.Result(None, True, "timed out")
    assert results[gone.id].broken and results[gone.id].status is None
    assert ftp.id not in results
    assert ("GET", "/no-head.csv", "bytes=0-0") in Handler.seen
    db.session.commit()
    stored = {c.resource_id: c.broken for c in db.session.scalars(db.select(LinkCheck))}
    assert stored == {ok.id: False, missing.id: True, no_head.id: False, slow.id: True, gone.id: True}
    assert quality.broken_counts() == {dataset.id: 3}


def test_a_fixed_link_is_no_longer_broken(app, server):
    dataset = make_dataset(resources=[{"url": f"{server}/missing.csv"}])
    guard = outbound.Guard.from_settings(["127.0.0.1"])
    linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=1)
    assert quality.broken_counts() == {dataset.id: 1}
    dataset.resources[0].url = f"{server}/ok.csv"
    linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=1)
    assert quality.broken_counts() == {}


def test_internal_addresses_are_never_contacted(app, server):
    dataset = make_dataset(resources=[{"url": f"{server}/ok.csv"}])
    results = linkcheck.check(dataset.resources, guard=outbound.Guard(), now=NOW, timeout=1)
    [result] = results.values()
    assert result.broken and result.status is None
    assert Handler.seen == []


def test_one_host_gets_at_most_per_host_requests_at_once(app, server):
    dataset = make_dataset(resources=[{"url": f"{server}/slow-{i}.csv"} for i in range(4)])
    guard = outbound.Guard.from_settings(["127.0.0.1"])
    started = time.monotonic()
    linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=5, per_host=2, workers=8)
    assert time.monotonic() - started >= 3.9  # 4 slow answers of 2 s, two at a time


def test_the_job_checks_the_published_datasets_links(app, server):
    from portal.jobs import queue

    app.config["OUTBOUND_ALLOWED_HOSTS"] = ("127.0.0.1",)
    published = make_dataset(resources=[{"url": f"{server}/missing.csv"}])
    make_dataset(state="withdrawn", resources=[{"url": f"{server}/missing.csv"}])
    db.session.commit()
    record = queue.enqueue("catalogue.check_links")
    assert (record.state, record.error) == ("finished", "")
    assert quality.broken_counts() == {published.id: 1}


def test_mirrored_copies_are_re_read_from_storage_not_their_links(app, server):
    import hashlib

    from catalogue_factories import CSV, mirrored

    from portal.storage import get_storage

    dataset = make_dataset(resources=[])
    kept = mirrored(dataset, url=f"{server}/missing.csv", sha256=hashlib.sha256(CSV).hexdigest())
    lost = mirrored(dataset, filename="lost.csv")
    changed = mirrored(dataset, filename="changed.csv", sha256="0" * 64)
    get_storage().delete(lost.storage_key)
    guard = outbound.Guard.from_settings(["127.0.0.1"])
    results = linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=1, store=get_storage())
    assert results[kept.id] == linkcheck.Result(None, False)  # its link 404s, but downloads come from storage
    assert results[lost.id] == linkcheck.Result(None, True, "mirrored copy missing")
    assert results[changed.id] == linkcheck.Result(None, True, "mirrored copy changed: SHA-256 differs")
    assert Handler.seen == []
    assert quality.broken_counts() == {dataset.id: 2}


def test_a_change_of_health_touches_the_dataset_and_a_steady_one_does_not(app, server):
    from portal import clock
    from portal.catalogue import changes

    dataset = make_dataset(resources=[{"url": f"{server}/ok.csv"}])
    steady = make_dataset(resources=[{"url": f"{server}/ok.csv"}])
    guard = outbound.Guard.from_settings(["127.0.0.1"])
    first, second, third = (datetime(2026, 12, 6, h, tzinfo=UTC) for h in (5, 6, 7))
    with clock.frozen(first):
        linkcheck.check([*dataset.resources, *steady.resources], guard=guard, now=first, timeout=1)
    db.session.commit()
    before = changes.changed_at(db.session.get(type(dataset), steady.id))
    dataset.resources[0].url = f"{server}/missing.csv"
    with clock.frozen(second):
        linkcheck.check([*dataset.resources, *steady.resources], guard=guard, now=second, timeout=1)
    db.session.commit()
    db.session.expire_all()
    assert changes.changed_at(db.session.get(type(dataset), dataset.id)) == second
    assert changes.changed_at(db.session.get(type(dataset), steady.id)) == before
    with clock.frozen(third):  # still broken: nothing to show anew
        linkcheck.check(
            db.session.get(type(dataset), dataset.id).resources, guard=guard, now=third, timeout=1
        )
    db.session.commit()
    db.session.expire_all()
    assert changes.changed_at(db.session.get(type(dataset), dataset.id)) == second


def test_the_dataset_page_marks_broken_resources_at_once(app, client, server):
    from catalogue_factories import mirrored

    from portal.storage import get_storage

    dataset = make_dataset(resources=[{"url": f"{server}/ok.csv"}])
    copy = mirrored(dataset, filename="copy.csv")
    page = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)  # cached now
    assert 'data-broken="yes"' not in page and "broken-badge" not in page
    get_storage().delete(copy.storage_key)
    dataset.resources[0].url = f"{server}/missing.csv"
    guard = outbound.Guard.from_settings(["127.0.0.1"])
    linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=1, store=get_storage())
    db.session.commit()
    page = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert page.count('data-broken="yes"') == 2
    assert 'data-testid="broken-badge" data-broken="2"' in page


def test_the_link_check_is_scheduled_by_default(app, redis_conn):
    from portal import config
    from portal.jobs import registry, schedules

    [entry] = [e for e in config.JOB_SCHEDULES.values() if e["job"] == "catalogue.check_links"]
    assert entry["cron"] and registry.kind(entry["job"]).target == "portal.catalogue.linkcheck:run_job"
    schedules.from_config(app, redis_conn)  # a wrong entry would raise BadSchedule


def test_result_cards_mark_a_dataset_with_a_broken_resource(app, client, server):
    dataset = make_dataset(
        "公交站点", resources=[{"url": f"{server}/ok.csv"}, {"url": f"{server}/missing.csv"}]
    )
    make_dataset("公交线路", resources=[{"url": f"{server}/ok.csv"}])
    db.session.commit()
    page = client.get("/datasets/").get_data(as_text=True)  # the cards are cached now
    assert "data-broken=" not in page
    linkcheck.check(dataset.resources, guard=outbound.Guard.from_settings(["127.0.0.1"]), now=NOW, timeout=1)
    db.session.commit()
    page = client.get("/datasets/").get_data(as_text=True)
    assert page.count('data-broken="1"') == 1
    [card] = re.findall(rf'<li class="dataset-card" data-dataset="{dataset.name}">.*?</ul>', page, re.S)
    assert 'data-broken="1"' in card


def test_the_cached_quality_summary_counts_a_link_broken_at_the_next_check(app, server):
    from catalogue_factories import make_department

    dataset = make_dataset(department=make_department(), resources=[{"url": f"{server}/ok.csv"}])
    guard = outbound.Guard.from_settings(["127.0.0.1"])
    linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=1)
    db.session.commit()
    assert quality.summary(NOW)["total"]["broken_resources"] == 0  # measured and cached
    dataset.resources[0].url = f"{server}/missing.csv"
    linkcheck.check(dataset.resources, guard=guard, now=NOW, timeout=1)
    db.session.commit()
    assert quality.summary(NOW)["total"]["broken_resources"] == 1
