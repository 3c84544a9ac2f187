"""Fixtures shared by the catalogue's tests."""

from __future__ import annotations

import pytest

from portal.catalogue import search_cache


class Clock:
    """A monotonic clock that moves only when a test moves it (`clock.now += seconds`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """The clock the search caches read (time.monotonic), stopped at 1000.0 for the test."""
    clock = Clock()
    monkeypatch.setattr(search_cache.time, "monotonic", clock)
    return clock
