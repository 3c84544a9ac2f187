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
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from flask import Flask, current_app, has_app_context
from flask_babel import gettext
from werkzeug.exceptions import ServiceUnavailable

RETRY_AFTER = 2  # seconds: a slot frees as soon as a search ends, and searches are bounded
PLAIN_UNITS = 4  # a search of at most this many words (or bigrams) is plain: it may wait for a slot
_POLL_SECONDS = (0.005, 0.01, 0.02, 0.04)  # between tries while waiting; then every 40 ms


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
    token = _acquire(slots, wait)
    if token is None:
        raise Busy()
    holding = _holding.set(True)
    try:
        yield
    finally:
        _holding.reset(holding)
        slots.release(token)


def _acquire(slots: Slots, wait: float) -> object | None:
    """Take a slot, trying again for up to `wait` seconds while every slot is taken."""
    token = slots.acquire()
    deadline = time.monotonic() + wait
    tries = 0
    while token is None and time.monotonic() < deadline:
        pause = _POLL_SECONDS[min(tries, len(_POLL_SECONDS) - 1)]
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        tries += 1
        token = slots.acquire()
    return token


_holding: ContextVar[bool] = ContextVar("search_slot_held", default=False)
