"""Cap how many expensive searches run at once, across every process of the site.

A search that reads the full-text index or scans (a catalogue search whose match is not
cached, CKAN's package_search with a query) costs far more than a page. The time bounds
(portal/dbtimeout.py) stop one such search from running long; this stops many from running
together and taking every worker and core from the visitors' pages. SEARCH_CONCURRENCY
slots are shared by the site's processes: with REDIS_URL, a sorted set in Redis whose
members expire (a process that dies frees its slot within SEARCH_SLOT_SECONDS); without it,
lock files in the instance folder, which the operating system frees with their holder.
A plain search (a few words, as a visitor types them) that finds every slot taken waits up to
SEARCH_SLOT_WAIT_MS for one, since slots turn over in milliseconds; a long query, the shape an
attack takes, is refused at once. Either way a search that gets no slot is refused (`Busy`, a 503
with Retry-After in the request's format), rather than queued without bound.

Within a process the threads wanting a slot wait in line (`Line`): only the first polls the shared
slots, and a thread of the process that releases one wakes it at once. Under gthread workers (4 threads
each) every search thread used to poll on its own, and one asleep between polls lost the freed slot to a
newcomer, so some waited the whole SEARCH_SLOT_WAIT_MS and were refused while others were served at once
(issue 20).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from flask import Flask, current_app, has_app_context
from flask_babel import gettext
from werkzeug.exceptions import ServiceUnavailable

RETRY_AFTER = 2  # seconds: a slot frees as soon as a search ends, and searches are bounded
PLAIN_UNITS = 4  # a search of at most this many words (or bigrams) is plain: it may wait for a slot
# between the first waiter's tries for a slot another process may free; then every 20 ms (one poller each)
_POLL_SECONDS = (0.002, 0.005, 0.01, 0.02)


class Busy(ServiceUnavailable):
    """Every slot is taken: answered 503 with Retry-After in the request's format."""

    def __init__(self) -> None:
        super().__init__(
            description=gettext("Too many searches are running at the moment. Try again in a few seconds."),
            retry_after=RETRY_AFTER,
        )


class Slots(Protocol):
    def acquire(self) -> object | None:
        """Take a slot and return its token, or None when every slot is taken."""

    def release(self, token: object) -> None: ...


class FileSlots:
    """Slots as lock files in one folder: the processes of one host share them; a process that
    ends, however it ends, releases its locks."""

    def __init__(self, folder: str, size: int) -> None:
        self.paths = [os.path.join(folder, f"slot-{n}.lock") for n in range(size)]
        os.makedirs(folder, exist_ok=True)

    def acquire(self) -> int | None:
        for path in self.paths:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    def release(self, token: int) -> None:
        fcntl.flock(token, fcntl.LOCK_UN)
        os.close(token)


# Drop the holders whose time ran out, then take a slot if one is free: one atomic step in Redis,
# timed by Redis's clock so that the processes' clocks need not agree.
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  return 1
end
return 0
"""


class RedisSlots:
    """Slots as members of a sorted set in Redis, scored by when they expire: every process and
    host using the same Redis shares them."""

    def __init__(self, url: str, size: int, hold_seconds: float, key: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.size, self.hold_seconds, self.key = size, hold_seconds, key
        self._acquire = self.client.register_script(_ACQUIRE)

    def acquire(self) -> str | None:
        token = uuid.uuid4().hex
        taken = self._acquire(keys=[self.key], args=[self.size, self.hold_seconds, token])
        return token if taken else None

    def release(self, token: str) -> None:
        self.client.zrem(self.key, token)


def build(app: Flask) -> Slots | None:
    """Return the slots the app's settings ask for, or None when searches are not capped."""
    size = app.config.get("SEARCH_CONCURRENCY") or 0
    if size <= 0:
        return None
    if app.config.get("REDIS_URL"):
        # one set of slots per database: the processes serving one catalogue share them
        database = hashlib.sha256(app.config["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()[:16]
        key = f"portal:search-slots:{database}"
        return RedisSlots(app.config["REDIS_URL"], size, float(app.config["SEARCH_SLOT_SECONDS"]), key)
    return FileSlots(os.path.join(app.instance_path, "search-slots"), size)


def init_app(app: Flask) -> None:
    size = app.config.get("SEARCH_CONCURRENCY")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("SEARCH_CONCURRENCY must be a whole number, 0 for no cap")
    wait = app.config.get("SEARCH_SLOT_WAIT_MS")
    if not isinstance(wait, int) or isinstance(wait, bool) or not 0 <= wait <= 10_000:
        raise ValueError("SEARCH_SLOT_WAIT_MS must be a whole number of milliseconds from 0 to 10000")
    app.extensions["search_slots"] = build(app)
    app.extensions["search_slot_line"] = Line()


class Line:
    """This process's threads waiting for a search slot, first come first served: only the first of them
    tries the shared slots (polling, for a slot another process frees), the others sleep until they are
    first; a thread of this process releasing a slot, or the first giving up, wakes the next at once. A
    search that may not wait takes a slot only when no thread of the process is waiting for one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    def acquire(self, slots: Slots, wait: float) -> object | None:
        """Take a slot, waiting in line for up to `wait` seconds while every slot is taken."""
        with self._lock:
            ahead = bool(self._waiting)
        if not ahead:
            token = slots.acquire()
            if token is not None or wait <= 0:
                return token
        elif wait <= 0:
            return None
        deadline = time.monotonic() + wait
        me = threading.Event()
        with self._lock:
            self._waiting.append(me)
        try:
            tries = 0
            while True:
                me.clear()  # before looking: a wake-up from here on ends the wait below at once
                with self._lock:
                    first = self._waiting[0] is me
                if first:
                    token = slots.acquire()
                    if token is not None:
                        return token
                    pause = _POLL_SECONDS[min(tries, len(_POLL_SECONDS) - 1)]
                    tries += 1
                else:
                    pause = wait  # until woken as the first
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                me.wait(min(pause, left))
        finally:
            with self._lock:
                self._waiting.remove(me)
                if self._waiting:
                    self._waiting[0].set()  # the next is first now (or still): it tries at once

    def release(self, slots: Slots, token: object) -> None:
        slots.release(token)
        with self._lock:
            if self._waiting:
                self._waiting[0].set()


@contextmanager
def held(*, plain: bool = False) -> Iterator[None]:
    """Run the block in a search slot, or raise Busy when every slot is taken. A plain search
    waits up to SEARCH_SLOT_WAIT_MS for a slot first; any other is refused at once. Outside an
    app, or without a cap, the block simply runs. A block already in a slot does not take another."""
    slots = current_app.extensions.get("search_slots") if has_app_context() else None
    if slots is None or _holding.get():
        yield
        return
    wait = current_app.config.get("SEARCH_SLOT_WAIT_MS", 0) / 1000 if plain else 0
    line = current_app.extensions["search_slot_line"]
    token = line.acquire(slots, wait)
    if token is None:
        raise Busy()
    holding = _holding.set(True)
    try:
        yield
    finally:
        _holding.reset(holding)
        line.release(slots, token)


_holding: ContextVar[bool] = ContextVar("search_slot_held", default=False)
