"""The app node's gunicorn worker (portal/serving.py, deploy/gunicorn.conf.py): a burst of new connections is
shared among the workers by their free threads, and idle kept-alive connections never stop a worker from
taking new ones. Real gunicorn, real sockets; the app answers with its worker's pid."""

from __future__ import annotations

import http.client
import os
import runpy
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

APP = """
import os, time

def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.5)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(tmp_path):
    """Start gunicorn with the given worker class, workers and threads on the pid app; yield its port."""
    (tmp_path / "pid_app.py").write_text(APP, encoding="utf-8")
    servers = []

    def start(worker_class: str, workers: int, threads: int) -> int:
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
        command = [sys.executable, "-m", "gunicorn", "-k", worker_class, "-w", str(workers)]
        command += ["--threads", str(threads), "--keep-alive", "60", "-b", f"127.0.0.1:{port}"]
        command += ["--log-level", "warning", "pid_app:app"]
        servers.append(subprocess.Popen(command, cwd=tmp_path, env=env))
        _wait_for_workers(port, workers)
        return port

    yield start
    for server in servers:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _get(connection: http.client.HTTPConnection, path: str) -> int:
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    return int(response.read())


def _wait_for_workers(port: int, workers: int) -> None:
    """Until every worker has answered once (each on a new connection), or 60 s."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < workers and time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            seen.add(_get(connection, "/"))
            connection.close()
        except OSError:
            time.sleep(0.1)
    assert len(seen) == workers, f"only {len(seen)} of {workers} gunicorn workers answered"


def _burst(port: int, count: int) -> list[tuple[http.client.HTTPConnection, int]]:
    """Open `count` connections at once, each sending a slow request; return them with the answering pid."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(count)]
    pids: list[int] = [0] * count
    start = threading.Barrier(count)

    def one(n: int) -> None:
        connections[n].connect()
        start.wait()
        pids[n] = _get(connections[n], "/slow")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return list(zip(connections, pids, strict=True))


def test_the_app_node_runs_the_balanced_worker():
    settings = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert settings["worker_class"] == "portal.serving.BalancedThreadWorker"


def test_a_burst_of_connections_is_shared_by_free_threads(serve):
    """Two workers of two threads, four connections at once, three times: each worker serves two of them
    (stock gthread lets the first worker to wake take three or four, whose requests then queue)."""
    port = serve("portal.serving.BalancedThreadWorker", workers=2, threads=2)
    for _ in range(3):
        answered = _burst(port, 4)
        assert sorted(Counter(pid for _, pid in answered).values()) == [2, 2]
        for connection, _ in answered:
            connection.close()
        time.sleep(0.3)  # the workers see the closes


def test_idle_kept_alive_connections_do_not_stop_new_ones(serve):
    """Each worker's one thread holds an idle kept-alive connection or more; a new connection is still
    served at once (a cap on connections instead of busy ones would leave it waiting for the keep-alive)."""
    port = serve("portal.serving.BalancedThreadWorker", workers=2, threads=1)
    idle = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(4)]
    for connection in idle:
        _get(connection, "/")
    started = time.monotonic()
    fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _get(fresh, "/")
    assert time.monotonic() - started < 5
    for connection in idle:  # and the idle ones are still served on their kept-alive connections
        _get(connection, "/")
    for connection in [*idle, fresh]:
        connection.close()


def test_a_worker_whose_threads_are_busy_leaves_new_connections_to_the_others(serve):
    """A kept-alive connection's next request takes a worker's only thread: a connection opened meanwhile is
    served at once by the other worker, eight times (it was taken by the busy worker and waited there about
    half the time when only accepting re-checked the threads)."""
    port = serve("portal.serving.BalancedThreadWorker", workers=2, threads=1)
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    busy_pid = _get(kept, "/")
    for _ in range(8):
        slow = threading.Thread(target=_get, args=(kept, "/slow"))
        slow.start()
        time.sleep(0.15)  # the slow request holds its worker's thread
        fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        assert _get(fresh, "/") != busy_pid  # not queued behind the slow request
        fresh.close()
        slow.join(30)
    kept.close()
