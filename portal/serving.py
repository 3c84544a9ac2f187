"""The gunicorn worker an app node runs (deploy/gunicorn.conf.py): gthread, taking new connections only
while it has a thread to serve them.

gunicorn's gthread worker accepts every connection it can (up to `worker_connections`, 1,000) whenever its
loop wakes, and serves each kept-alive connection for as long as the client keeps it. The workers share one
listening socket, so which worker takes a connection is a race: a burst of new connections (a client's pool,
nginx's upstream connections after a reload, wrk) lands unevenly, and a worker holding twice its threads'
worth of busy connections serves each at half the pace of the others for as long as they live. Measured on
datastore_search (issue 16, 4 workers x 4 threads, wrk's 16 kept-alive connections): the workers held
[2, 3, 5, 6] and [0, 4, 6, 6] connections, p99 77-92 ms at p50 22-25 ms; the catalogue loads of issue 20
swung between runs by a factor of three with the draw.

`BalancedThreadWorker` listens for new connections only while fewer of its connections are busy (being
served, or queued for a thread) than it has threads, checked whenever a connection takes a thread and
whenever its loop wakes. Idle kept-alive connections and those parked waiting for their first bytes do not
count (gthread first waits up to 5 s for them on a thread, as stock gthread does), so a worker holding many
idle ones still takes new work; a worker whose threads are all taken leaves the connection in the listen
backlog for one that has a thread free, as gunicorn's sync workers do.
"""

from __future__ import annotations

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    """gthread that accepts a connection only when one of its threads is free for it."""

    def busy(self) -> int:
        """Connections being served or queued for a thread: all but those idle between requests and those
        still waiting for a request's first bytes (gthread parks both on its poller, threadless)."""
        return self.nr_conns - len(self.keepalived_conns) - len(self.pending_conns)

    def set_accept_enabled(self, enabled: bool) -> None:
        # gthread's loop asks for accepting after every wake-up while it is below `worker_connections`;
        # grant it only while a thread is free (re-asked each time the loop wakes, so after each finished
        # request too).
        super().set_accept_enabled(enabled and self.busy() < self.cfg.threads)

    def enqueue_req(self, conn) -> None:
        # every way a connection takes a thread (a new one, a kept-alive one's next request, a pending one's
        # first bytes, bytes read ahead) comes here: stop listening once no thread is left
        super().enqueue_req(conn)
        if self.busy() >= self.cfg.threads:
            super().set_accept_enabled(False)

    def accept(self, listener) -> None:
        if (
            self.busy() >= self.cfg.threads
        ):  # a listener's event of the same wake-up, after the threads filled
            super().set_accept_enabled(False)
            return
        super().accept(listener)
