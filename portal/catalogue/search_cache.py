"""Small per-process caches for the expensive parts of the catalogue's pages.

Facet counts and full-text matches over a large catalogue cost far more than the
page itself, and stay the same until the catalogue changes. Entries are keyed by what
they depend on and stamped with the version of the data they were made from (the
catalogue's generation, or one dataset's: the contract is catalogue/changes.py), so a
change makes them stale at once; a short time-to-live bounds what a stamp cannot see
(a department renamed, say). Rendered fragments have a cache of their own, so pages
walked by a crawler never push out the searches.

An entry in use is remade before its time runs out: past a share of it drawn from REMAKE_AFTER
(so that entries made together, as after a start, do not all come due together), the first thread
to want it is told to make it again (`get` computes, `peek` answers None) while the others go on
using it until the new one is put. Otherwise, under threaded workers, every thread missed a
hot entry at once when it expired with its stamp unchanged, and waited on the one making it (the
facet index: 2 s of a core on 100,000 datasets; issue 20). Nothing is served past its time to
live: the bound on what a stamp cannot see holds as before.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

TTL = 30.0  # seconds
# seconds a thread waits for another making the same value (bounded by the request's budget), and that a
# thread chosen to make an entry again has to put it before another is chosen
MAKER_WAIT = 5.0
REMAKE_AFTER = (0.6, 0.9)  # share of its time to live after which an entry in use is made again
_MISSING = object()


class StampedCache:
    """A least-recently-used map whose entries hold while their stamp matches, up to `ttl` seconds."""

    def __init__(self, size: int, ttl: float = TTL) -> None:
        self.size, self.ttl = size, ttl
        # key -> (expires, due to be remade, made, stamp made for, value), on the monotonic clock
        self._entries: OrderedDict[Hashable, tuple[float, float, float, Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._makers: dict[Hashable, list] = {}  # key -> [its lock, threads wanting it] (one_at_a_time)
        self._remakers: dict[Hashable, tuple[int, float]] = {}  # key -> (thread remaking it, since when)

    def get(
        self,
        key: Hashable,
        compute: Callable[[], Any],
        stamp: Hashable,
        *,
        ttl: float | None = None,
        reuse_within: float = 0.0,
        maker: AbstractContextManager | None = None,
    ) -> Any:
        """Return the value cached under `key` for `stamp`, computing it when needed.

        An entry made less than `reuse_within` seconds ago is returned even for another
        stamp: for values costly to build from data that may change many times a second
        (the catalogue during a sync), staleness is bounded instead of work multiplied.
        With `maker` (a lock), threads compute the value one at a time, each looking again
        for it once its turn comes: for values too costly to make twice at once.
        """
        value = self._find(key, stamp, reuse_within)
        if value is not _MISSING:
            return value
        with maker or nullcontext():
            if maker is not None:
                value = self._find(key, stamp, reuse_within)  # made while this thread waited
                if value is not _MISSING:
                    return value
            try:
                value = compute()
            except BaseException:
                self.give_up(key)  # another thread remakes it
                raise
            self.put(key, stamp, value, ttl=ttl)
        return value

    def peek(self, key: Hashable, stamp: Hashable) -> Any | None:
        """Return the value cached under `key` for `stamp`, or None (also to the one thread that is to
        make it again, see the module's docstring); for callers that compute the values they miss
        together (see `put`)."""
        value = self._find(key, stamp, 0.0)
        return None if value is _MISSING else value

    def _find(self, key: Hashable, stamp: Hashable, reuse_within: float) -> Any:
        """Return the value cached under `key` for `stamp`, or _MISSING when there is none or when this
        thread is the one to make it again (the first to want it past its due time, or the next once the
        first took MAKER_WAIT seconds without putting it)."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return _MISSING
            expires, due, made, made_for, value = hit
            if expires <= now or (made_for != stamp and now - made >= reuse_within):
                return _MISSING
            self._entries.move_to_end(key)
            if now < due:
                return value
            me, remaker = threading.get_ident(), self._remakers.get(key)
            if remaker is not None and remaker[0] != me and now - remaker[1] < MAKER_WAIT:
                return value
            if remaker is None or remaker[0] != me:
                self._remakers[key] = (me, now)
            return _MISSING

    def unexpired(self, key: Hashable, stamp: Hashable) -> Any | None:
        """Return the value cached under `key` for `stamp` while its time to live lasts, or None, whether
        or not it is due to be made again (and without choosing this thread to make it)."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            return hit[4] if hit is not None and hit[0] > now and hit[3] == stamp else None

    def give_up(self, key: Hashable) -> None:
        """Let another thread make the entry under `key` again, if this thread was chosen to."""
        with self._lock:
            remaker = self._remakers.get(key)
            if remaker is not None and remaker[0] == threading.get_ident():
                del self._remakers[key]

    def put(self, key: Hashable, stamp: Hashable, value: Any, *, ttl: float | None = None) -> None:
        now = time.monotonic()
        ttl = self.ttl if ttl is None else ttl
        with self._lock:
            self._entries[key] = (now + ttl, now + ttl * random.uniform(*REMAKE_AFTER), now, stamp, value)
            self._entries.move_to_end(key)
            self._remakers.pop(key, None)
            while len(self._entries) > self.size:
                self._remakers.pop(self._entries.popitem(last=False)[0], None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._remakers.clear()

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
