"""A small per-process cache for the expensive parts of a catalogue search.

Facet counts and full-text matches over a large catalogue cost far more than the
page itself, and stay the same until the sync changes the catalogue. Entries are
keyed by the search and stamped with the catalogue's generation, so a change makes
them stale at once; a short time-to-live bounds what the stamp cannot see.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import func, select

from portal.catalogue.models import Dataset
from portal.extensions import db

TTL = 30.0  # seconds
SIZE = 512  # entries per process

_entries: OrderedDict[Hashable, tuple[float, tuple, Any]] = OrderedDict()
_lock = threading.Lock()


def generation() -> tuple:
    """Return what changes whenever the catalogue changes: every write of a dataset, its
    resources, themes or tags (and its withdrawal) moves `last_synced_at`. Two index lookups."""
    # Two subqueries: SQLite answers a lone max() from its index, but scans for two in one select.
    newest_id = select(func.max(Dataset.id)).scalar_subquery()
    newest_write = select(func.max(Dataset.last_synced_at)).scalar_subquery()
    row = db.session.execute(select(newest_id, newest_write)).one()
    return (str(db.engine.url), *row)


def cached(key: Hashable, compute: Callable[[], Any], stamp: tuple) -> Any:
    """Return the value cached under `key` for catalogue generation `stamp`, computing it when needed."""
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] > now and hit[1] == stamp:
            _entries.move_to_end(key)
            return hit[2]
    value = compute()
    with _lock:
        _entries[key] = (now + TTL, stamp, value)
        _entries.move_to_end(key)
        while len(_entries) > SIZE:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
