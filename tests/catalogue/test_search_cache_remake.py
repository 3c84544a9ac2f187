"""An entry in use is made again before its time to live runs out, by one thread while the others go on
using it: when a hot entry expired with its stamp unchanged, every thread of a worker missed it at once and
waited on the one making it (the facet index: 2 s of a core on 100,000 datasets; issue 20). Nothing is
served past its time to live, which bounds what a stamp cannot see."""

from __future__ import annotations

import threading
import time

import pytest
from catalogue_factories import make_dataset, make_theme

from portal.catalogue import facet_counts, search_cache
from portal.extensions import db


def test_one_thread_remakes_an_entry_due_while_the_others_use_it_and_none_past_its_time(clock):
    cache = search_cache.StampedCache(size=4, ttl=40)
    cache.put("k", 1, "old")
    clock.now += 23  # before the share of its time drawn (at least six tenths): nobody remakes it
    assert cache.get("k", lambda: pytest.fail("made early"), 1) == "old" and cache.peek("k", 1) == "old"
    clock.now += 14  # past it (at most nine tenths)
    started, finish = threading.Event(), threading.Event()
    remade = []

    def remake():
        started.set()
        assert finish.wait(10)
        return "new"

    remaker = threading.Thread(target=lambda: remade.append(cache.get("k", remake, 1)))
    remaker.start()
    assert started.wait(10)
    # meanwhile the others use the entry still in its time, without making it
    assert cache.get("k", lambda: pytest.fail("made twice"), 1) == "old"
    assert cache.peek("k", 1) == "old"
    assert cache.get("k", lambda: "changed", 2) == "changed"  # a changed stamp is never served the old
    cache.put("k", 1, "old")  # back to the entry being remade
    clock.now += 37
    finish.set()
    remaker.join(10)
    assert remade == ["new"]
    assert cache.get("k", lambda: pytest.fail("made again"), 1) == "new"
    clock.now += 41
    assert cache.peek("k", 1) is None  # past its time: nobody is served it
    assert cache._remakers == {}


def test_the_thread_told_to_remake_by_peek_has_others_wait_for_it_a_bounded_time(clock):
    cache = search_cache.StampedCache(size=4, ttl=100)
    cache.put("page", 1, "old")
    clock.now += 91
    assert cache.peek("page", 1) is None  # this thread remakes it (renders the page, then puts it)
    assert cache.peek("page", 1) is None  # and is told so again until it has put it
    other = []
    thread = threading.Thread(target=lambda: other.append(cache.peek("page", 1)))
    thread.start()
    thread.join(10)
    assert other == ["old"]
    clock.now += search_cache.MAKER_WAIT  # it never put it (its request failed): another thread remakes it
    thread = threading.Thread(target=lambda: other.append(cache.peek("page", 1)))
    thread.start()
    thread.join(10)
    assert other == ["old", None]
    cache.put("page", 1, "new")
    assert cache.peek("page", 1) == "new" and cache._remakers == {}


def test_a_failed_remake_lets_the_next_thread_remake_it(clock):
    cache = search_cache.StampedCache(size=4, ttl=40)
    cache.put("k", 1, "old")
    clock.now += 37

    def fail():
        raise RuntimeError("statement timed out")

    with pytest.raises(RuntimeError):
        cache.get("k", fail, 1)
    got = []
    thread = threading.Thread(target=lambda: got.append(cache.get("k", lambda: "new", 1)))
    thread.start()
    thread.join(10)
    assert got == ["new"]


def test_the_facet_index_is_rebuilt_before_its_time_runs_out_while_others_use_it(app, clock, monkeypatch):
    make_dataset(title="第一个", themes=[make_theme("主题甲", name="jia")], index=False)
    db.session.commit()
    search_cache.clear()
    first = facet_counts.index()
    clock.now += 110  # of its 120 s
    real_build, started, finish = facet_counts._build_index, threading.Event(), threading.Event()

    def slow_build(stamp):
        started.set()
        assert finish.wait(10)
        return real_build(stamp)

    monkeypatch.setattr(facet_counts, "_build_index", slow_build)
    rebuilt = []

    def rebuild():
        with app.app_context():
            rebuilt.append(facet_counts.index())

    builder = threading.Thread(target=rebuild)
    builder.start()
    try:
        assert started.wait(10)
        assert facet_counts.index() is first  # at once: no waiting on the build
    finally:
        finish.set()
        builder.join(10)
    assert len(rebuilt) == 1 and rebuilt[0] is not first
    assert facet_counts.index() is rebuilt[0]


def test_the_quality_standings_are_measured_again_while_others_use_those_in_their_time(app, monkeypatch):
    from portal.catalogue import quality

    search_cache.clear()
    first = quality.standings()
    key = "quality standings"
    expires, _, made_at, stamp, value = search_cache.searches._entries[key]
    search_cache.searches._entries[key] = (expires, time.monotonic() - 1, made_at, stamp, value)  # due
    started, finish = threading.Event(), threading.Event()

    def slow_measure():
        started.set()
        assert finish.wait(10)
        return {}

    monkeypatch.setattr(quality, "_measure_unbounded", slow_measure)
    remeasured = []

    def remeasure():
        with app.app_context():
            remeasured.append(quality.standings())

    measurer = threading.Thread(target=remeasure)
    measurer.start()
    try:
        assert started.wait(10)
        assert quality.standings() is first  # at once: not waiting on the one measuring
    finally:
        finish.set()
        measurer.join(10)
    assert remeasured == [{}] and quality.standings() == {}
