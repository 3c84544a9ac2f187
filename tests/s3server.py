"""Run moto's S3-protocol server on 127.0.0.1 for tests of the MinIO backend.

The server runs in a child process rather than a thread of the test process: moto holds objects in memory,
which would count in the tests' tracemalloc peaks, and its warnings stay out of `filterwarnings = error`.

Use it from a session fixture (tests/ is on sys.path, as for `factories`):

    from s3server import ACCESS_KEY, SECRET_KEY, running_s3_server

    @pytest.fixture(scope="session")
    def s3_endpoint():
        with running_s3_server() as endpoint:  # "127.0.0.1:<port>"
            yield endpoint
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator

ACCESS_KEY = "testing-access"
SECRET_KEY = "testing-secret"


@contextlib.contextmanager
def running_s3_server(timeout: float = 30) -> Iterator[str]:
    """Start moto's server on a free port of 127.0.0.1, yield "host:port", stop it on exit."""
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()  # the child's first line is its port, or EOF if it failed
            if not line.strip().isdigit():
                log.seek(0)
                raise RuntimeError(f"moto server did not start:\n{log.read().decode(errors='replace')}")
            yield f"127.0.0.1:{int(line)}"
        finally:
            assert child.stdin is not None
            child.stdin.close()  # the child stops when its stdin closes
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            if child.stdout:
                child.stdout.close()


def _serve() -> None:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    # Port 0: the operating system picks a free port, which the server then reports.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # returns when the parent closes stdin or exits
    server.stop()


if __name__ == "__main__":
    _serve()
