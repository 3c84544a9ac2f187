"""Small per-process caches for the expensive parts of the catalogue's pages.

Facet counts and full-text matches over a large catalogue cost far more than the
page itself, and stay the same until the catalogue changes. Entries are keyed by what
they depend on and stamped with the version of the data they were made from (the
catalogue's generation, or one dataset's: the contract is catalogue/changes.py), so a
change makes them stale at once; a short time-to-live bounds what a stamp cannot see
(a department renamed, say). Rendered fragments have a cache of their own, so pages
walked by a crawler never push out the searches.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

TTL = 30.0  # seconds
MAKER_WAIT = 5.0  # seconds a thread waits for another making the same value (bounded by the request's budget)


class StampedCache:
    """A least-recently-used map whose entries hold while their stamp matches, up to `ttl` seconds."""

    def __init__(self, size: int, ttl: float = TTL) -> None:
        self.size, self.ttl = size, ttl
        # key -> (expires, made, stamp made for, value), on the monotonic clock
        self._entries: OrderedDict[Hashable, tuple[float, float, Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._makers: dict[Hashable, list] = {}  # key -> [its lock, threads wanting it] (one_at_a_time)

    def get(
        self,
        key: Hashable,
        compute: Callable[[], Any],
        stamp: Hashable,
        *,
        ttl: float | None = None,
        reuse_within: float = 0.0,
    ) -> Any:
        """Return the value cached under `key` for `stamp`, computing it when needed.

        An entry made less than `reuse_within` seconds ago is returned even for another
        stamp: for values costly to build from data that may change many times a second
        (the catalogue during a sync), staleness is bounded instead of work multiplied.
        """
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                expires, made, made_for, value = hit
                if expires > now and (made_for == stamp or now - made < reuse_within):
                    self._entries.move_to_end(key)
                    return value
        value = compute()
        self.put(key, stamp, value, ttl=ttl)
        return value

    def peek(self, key: Hashable, stamp: Hashable) -> Any | None:
        """Return the value cached under `key` for `stamp`, or None; for callers that compute
        the values they miss together (see `put`)."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now and hit[2] == stamp:
                self._entries.move_to_end(key)
                return hit[3]
        return None

    def put(self, key: Hashable, stamp: Hashable, value: Any, *, ttl: float | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            self._entries[key] = (now + (self.ttl if ttl is None else ttl), now, stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @contextmanager
    def one_at_a_time(self, key: Hashable, wait: float = MAKER_WAIT) -> Iterator[None]:
        """Let one of a process's threads at a time through for `key`: the others wait (up to `wait`
        seconds) for the one making its value, then find it made. When an entry of a hot search expires,
        every thread would otherwise miss it at once and make it again, queueing on the site's few search
        slots (issue 20: p99 1.2 s and 503s under gthread workers)."""
        with self._lock:
            maker = self._makers.get(key)
            if maker is None:
                maker = self._makers[key] = [threading.Lock(), 0]
            maker[1] += 1
        took = maker[0].acquire(timeout=wait)
        try:
            yield
        finally:
            if took:
                maker[0].release()
            with self._lock:
                maker[1] -= 1
                if not maker[1]:
                    del self._makers[key]


searches = StampedCache(512)  # facets, ranked matches, totals, and the facets' HTML
fragments = StampedCache(512)  # rendered parts of dataset pages
cards = StampedCache(4096)  # rendered result cards of the catalogue page
# Whole pages as a visitor not signed in sees them (catalogue/whole_pages.py):
listings = StampedCache(256)  # catalogue pages: listings, facets, sorts, searches
dataset_pages = StampedCache(512)  # dataset pages, split around their reuses panel


def cached(key: Hashable, compute: Callable[[], Any], stamp: tuple) -> Any:
    """Return the search part cached under `key` for catalogue generation `stamp`, computed when needed."""
    return searches.get(key, compute, stamp)


def clear() -> None:
    searches.clear()
    fragments.clear()
    cards.clear()
    listings.clear()
    dataset_pages.clear()
