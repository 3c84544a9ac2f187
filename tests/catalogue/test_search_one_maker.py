"""When a search's text match is missing (a new search, or its cache entry expired), one thread of a process
reads the full-text index for it; the others wait for that one and take its match, rather than all reading
the index and queueing on the site's search slots (issue 20: under gthread workers, p99 1.2 s and 503s)."""

from __future__ import annotations

import threading
import time

from catalogue_factories import make_dataset

from portal.catalogue import matching, search, search_cache
from portal.extensions import db

THREADS = 4


def test_threads_missing_one_match_read_the_index_once(app, monkeypatch):
    with app.app_context():
        for title in ("嘉兴公交线路", "南湖区公交站点", "海宁市停车场"):
            make_dataset(title)
        db.session.commit()
    search_cache.clear()
    made = []
    real_match = matching.match
    key = ("match", "公交")

    def match_once_all_wait(units):
        made.append(units)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # every thread has come for the match before it is made
            wanting = getattr(search_cache.searches, "_makers", {}).get(key)
            if wanting is not None and wanting[1] == THREADS:
                break
            time.sleep(0.005)
        return real_match(units)

    monkeypatch.setattr(matching, "match", match_once_all_wait)
    totals, failures = [], []

    def visitor():
        try:
            with app.app_context():
                totals.append(search.search_datasets(search.SearchQuery(q="公交")).total)
        except Exception as exc:  # noqa: BLE001 (reported below, with the thread's own failure)
            failures.append(exc)

    threads = [threading.Thread(target=visitor) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures, failures
    assert totals == [2] * THREADS
    assert len(made) == 1
    assert key not in search_cache.searches._makers  # nothing kept for a key nobody waits on


def test_a_thread_waits_a_bounded_time_for_another_making_the_same_value():
    cache = search_cache.StampedCache(4)
    entered, release = threading.Event(), threading.Event()

    def slow_maker():
        with cache.one_at_a_time("k"):
            entered.set()
            release.wait(10)

    maker = threading.Thread(target=slow_maker)
    maker.start()
    assert entered.wait(10)
    started = time.monotonic()
    with cache.one_at_a_time("k", wait=0.2):  # goes on alone once the wait is over
        waited = time.monotonic() - started
    release.set()
    maker.join(10)
    assert 0.2 <= waited < 5
    assert cache._makers == {}
