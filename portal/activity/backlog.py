"""Activity events written behind the request, in batches (issue 20 item 2).

Writing and committing one row per page view was about a third of the cost of the portal's
plainest page. A request now only appends its event to its process's backlog; a writer thread
inserts what waits in one statement per batch, when `batch` events wait or `interval` seconds
after the first, and the process writes the rest when it exits cleanly (atexit, which gunicorn's
workers reach on a graceful stop or restart). Each gunicorn worker has its own backlog: a forked
child starts with an empty one, and a thread of its own once it records.

A request never waits on the database for its event. When the database is slow or down, the
backlog holds at most `capacity` events; past that new events are dropped and counted
(`portal_activity_events_dropped_total` on /metrics) instead of growing without bound. A batch
that fails to write goes back to the front of the backlog and is tried again later.

What is lost: events of a process killed without a clean exit (SIGKILL, out of memory), at most
`batch` events or `interval` seconds of them, and the dropped ones, which are counted.

A batch the database refuses for what it holds (a constraint, a value it cannot store), rather than for
being unreachable, would fail at every try and hold every later event behind it: it is written again one
event at a time, and only the events refused on their own are dropped (logged and counted as rejected).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable

from prometheus_client import Counter
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

WRITTEN = Counter("portal_activity_events_written", "Activity events written by the backlogs' writers.")
DROPPED = Counter(
    "portal_activity_events_dropped", "Activity events dropped: the backlog was full (a slow database)."
)
FAILED_WRITES = Counter(
    "portal_activity_write_failures", "Batches of activity events that failed to write (tried again)."
)

REJECTED = Counter(
    "portal_activity_events_rejected", "Activity events the database refused for what they hold (dropped)."
)

Row = dict
Writer = Callable[[list[Row]], None]

_BACKLOGS: weakref.WeakSet[Backlog] = weakref.WeakSet()  # every backlog of this process, for exit and fork


class Backlog:
    """Events waiting to be written by `write` (a callable taking a list of rows), for one process."""

    def __init__(self, write: Writer, *, batch: int, interval: float, capacity: int) -> None:
        self.write = write
        self.batch = max(1, batch)
        self.interval = max(0.0, interval)
        self.capacity = max(self.batch, capacity)
        _BACKLOGS.add(self)
        self._reset()

    def _reset(self) -> None:
        """Start empty, with fresh locks and no writer: at creation, and in a forked child, whose
        copies of its parent's events are the parent's to write."""
        self._rows: deque[Row] = deque()
        self._lock = threading.Lock()  # guards _rows and _writer
        self._writing = threading.Lock()  # one flush at a time: the writer thread's, or a drain's
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: Row) -> bool:
        """Queue one event; return False when the backlog is full and it was dropped (and counted)."""
        with self._lock:
            if len(self._rows) >= self.capacity:
                DROPPED.inc()
                return False
            self._rows.append(row)
            if len(self._rows) >= self.batch:
                self._wake.set()
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="activity-backlog", daemon=True)
                self._writer.start()
        return True

    def _run(self) -> None:
        """Write a batch when one is full or `interval` has passed; stop once nothing waits, so an
        idle process (or a test's app) keeps no thread."""
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
            with self._lock:
                if not self._rows:
                    self._writer = None  # the next add starts another
                    return

    def flush(self) -> int:
        """Write every waiting event, a batch per statement; return how many were written.

        A batch that fails goes back to the front and the flush stops there (the next one tries again).
        """
        written = 0
        with self._writing:
            while batch := self._take():
                try:
                    self.write(batch)
                except Exception as exc:
                    FAILED_WRITES.inc()
                    if not refused(exc):
                        log.exception(
                            "could not write %d activity events; they wait for another try", len(batch)
                        )
                        self._put_back(batch)
                        break
                    log.warning(
                        "the database refused a batch of %d activity events: writing them one by one",
                        len(batch),
                    )
                    done, stopped = self._write_singly(batch)
                    written += done
                    if stopped:
                        break
                    continue
                WRITTEN.inc(len(batch))
                written += len(batch)
        return written

    def _write_singly(self, batch: list[Row]) -> tuple[int, bool]:
        """Write a refused batch event by event, dropping the events refused on their own; on a failure
        that is not a refusal, put the rest back and stop. Return (written, stopped)."""
        written = 0
        for at, row in enumerate(batch):
            try:
                self.write([row])
            except Exception as exc:
                if not refused(exc):
                    self._put_back(batch[at:])
                    return written, True
                REJECTED.inc()
                log.error("activity event dropped, the database refused it: %s", str(exc)[:300])
                continue
            WRITTEN.inc()
            written += 1
        return written, False

    def _take(self) -> list[Row]:
        with self._lock:
            return [self._rows.popleft() for _ in range(min(self.batch, len(self._rows)))]

    def _put_back(self, batch: list[Row]) -> None:
        """Return a failed batch to the front, keeping within `capacity`: the newest events give way."""
        with self._lock:
            self._rows.extendleft(reversed(batch))
            while len(self._rows) > self.capacity:
                self._rows.pop()
                DROPPED.inc()


def refused(exc: Exception) -> bool:
    """Tell a refusal of what the rows hold (a constraint, a value the column cannot store, a parameter that
    could not be bound), which no retry mends, from the database being down, locked or slow."""
    if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
        return True
    return isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError)


def drain_all() -> None:
    """Write every backlog of this process (at exit, and by tests before they read events)."""
    for backlog in list(_BACKLOGS):
        backlog.flush()
        if len(backlog):
            log.warning("%d activity events could not be written before exit", len(backlog))


def _forget_in_child() -> None:
    for backlog in list(_BACKLOGS):
        backlog._reset()


atexit.register(drain_all)
os.register_at_fork(after_in_child=_forget_in_child)
