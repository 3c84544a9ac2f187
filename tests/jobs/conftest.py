"""Fixtures of the jobs tests: job processes (`flask --app wsgi worker|scheduler`) on the test database."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def flask_process(database_url, tmp_path):
    """Start `flask --app wsgi <args>` processes on the test database; end them after the test."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    started = []

    def start(*args: str, **settings: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key",
            "LOG_JSON": "false",
            **settings,
        }
        flask = Path(sys.executable).parent / "flask"
        process = subprocess.Popen(
            [str(flask), "--app", "wsgi", *args],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"process-{len(started)}.log", "wb"),
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            for child in _children(process.pid):  # an RQ work horse runs in a process group of its own
                os.kill(child, signal.SIGKILL)
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []
