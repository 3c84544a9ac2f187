"""Fixtures of the jobs tests: a Redis database of their own (emptied around each test) and apps using it."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_HOST = "redis://127.0.0.1:6379"


def _database() -> int:
    """9 for a lone run; one database per pytest-xdist worker above it, so their queues stay apart."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 9 + int(worker.removeprefix("gw") or 0) % 6


@pytest.fixture
def redis_url():
    url = f"{REDIS_HOST}/{_database()}"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    yield url
    conn.flushdb()
    conn.close()


@pytest.fixture
def redis_conn(redis_url):
    from portal.jobs import queue

    return queue.connection(redis_url)
