"""Benchmark the catalogue sync against a generated CKAN served over HTTP.

    python bench/sync_bench.py 10000 100000        # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/sync_bench.py 10000
    python bench/sync_bench.py 20000 --json out/sync.json --mirror 2000

For each size: a full sync without mirroring (datasets per second, and the SQL statements and
commits it sent per dataset: counts, which a busy machine does not blur as it blurs seconds; the CPU
time of the syncing process and, on PostgreSQL, of the server's backends per dataset), then
an incremental sync after 100 packages change, and the peak memory of the syncing process. The fake
CKAN runs in a child process so its memory is not counted; it keeps HTTP connections alive, as a CKAN
behind a web server does, and the sync reads it behind the outbound guard, as the portal does.

`--mirror N` adds a mirroring load (issue 20 item 5): N small files on a local HTTP file server
(five per dataset) and, in every dataset, one more file on each of two unreachable hosts (a name that
does not resolve, a loopback port nobody listens on). It reports files mirrored per second and the
seconds the run spent on the unreachable hosts' files. `--json FILE` writes the last size's figures:
{"full": {"datasets", "seconds", "datasets_per_s", "statements_per_dataset", "commits_per_dataset",
"cpu_ms_per_dataset", "server_cpu_ms_per_dataset" (PostgreSQL's backends, read from /proc; null on
SQLite), "ckan_cpu_ms_per_dataset" (the fake CKAN's child process, from /proc)},
"database", "incremental": {"changed", "seconds"},
"peak_rss": {"mb"}, "mirror": {"files", "seconds", "files_per_s", "unreachable_files",
"unreachable_hosts", "errors_recorded"}, "load_average": [1, 5, 15 min]}.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


@contextlib.contextmanager
def fresh_portal():
    """Yield a temporary folder, inside the app context of a portal migrated afresh with its regions: on
    DATABASE_URL (its public schema emptied first) or on a SQLite file in that folder."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.seeding import load_regions

    with tempfile.TemporaryDirectory() as tmp:
        database = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app({"DATABASE_URL": database, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench"})
        with app.app_context():
            if database.startswith("postgres"):
                with db.engine.begin() as conn:
                    conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            upgrade(revision="heads")
            load_regions()
            db.session.commit()
            yield tmp


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """Serve a WSGI app over HTTP/1.1 connections kept alive, as a CKAN behind a web server does (the
    tests' server closes each connection after its answer, which costs the client a connection per
    call: a DataStore read per structured resource)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # an answer is not held back waiting for the client's ACK
    app = None  # the WSGI app, set on a subclass by `keep_alive_server`

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        environ = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            environ["HTTP_" + key.upper().replace("-", "_")] = value
        answer: list = []
        chunks = self.app(environ, lambda status, headers, exc_info=None: answer.extend((status, headers)))
        data = b"".join(chunks)
        status, headers = answer
        self.send_response(int(status.split()[0]), status.partition(" ")[2])
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n")  # what end_headers adds; headers and body go in one write
        self.wfile.write(b"".join(self._headers_buffer) + data)
        self._headers_buffer = []

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        """Keep request lines out of the benchmark's output."""


@contextlib.contextmanager
def keep_alive_server(app):
    """Serve `app` on 127.0.0.1, a free port, a thread per connection; yield its URL."""
    handler = type("Handler", (_KeepAliveHandler,), {"app": staticmethod(app)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def serve(count: int) -> None:
    """Child process: serve `count` packages, plus /_bench/touch?n=N to change N of them."""
    import ckan_generator

    fake = ckan_generator.load_fake(count)
    names = [fake.get_package(i)["name"] for i in list(fake._entries)[: min(count, 5000)]]
    rng = random.Random(1)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/_bench/touch":
            n = int(environ.get("QUERY_STRING", "n=100").split("=")[1])
            for name in rng.sample(names, n):
                fake.update_package(name, title=f"{fake.get_package(name)['title']}（更新）")
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"touched": n}).encode()]
        return fake(environ, start_response)

    with keep_alive_server(app) as url:
        print(url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


FILES_PER_DATASET = 5
SMALL = "站点,线路\n南湖站,1路\n".encode()


def serve_mirror(files: int) -> None:
    """Child process: a fake CKAN whose datasets list small files on this same server (/files/...),
    plus one file each on an unresolvable host and on a closed loopback port."""
    import socket

    import ckan_generator

    ckanserver = ckan_generator._ckanserver()
    fake = ckanserver.FakeCkan()
    org = {"id": "org-bench", "name": "bench", "title": "基准"}
    fake.add_organization(org)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    def app(environ, start_response):
        if environ["PATH_INFO"].startswith("/files/"):
            start_response("200 OK", [("Content-Type", "text/csv"), ("Content-Length", str(len(SMALL)))])
            return [SMALL]
        return fake(environ, start_response)

    with ckanserver.serve(app) as url:
        for n in range(max(1, files // FILES_PER_DATASET)):
            urls = [f"{url}/files/{n}/{i}.csv" for i in range(FILES_PER_DATASET)]
            urls += [f"http://files.unreachable.invalid/{n}.csv", f"http://127.0.0.1:{closed}/{n}.csv"]
            fake.add_package(
                {
                    "id": f"00000000-0000-4000-8000-{n:012d}",
                    "name": f"mirror-{n}",
                    "title": f"镜像{n}",
                    "organization": org,
                    "extras": [{"key": "open_condition", "value": "无条件开放"}],
                    "resources": [
                        {"id": f"m-{n}-{i}", "name": f"文件{i}", "format": "CSV", "url": u}
                        for i, u in enumerate(urls)
                    ],
                }
            )
        print(url, flush=True)
        sys.stdin.read()


def bench_mirror(files: int) -> dict:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-mirror", str(files)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = child.stdout.readline().strip()
    try:
        return _measure_mirror(url)
    finally:
        child.stdin.close()
        child.wait(30)


def _measure_mirror(url: str) -> dict:
    from portal import outbound, storage
    from portal.catalogue.models import Resource
    from portal.extensions import db
    from portal.sync import mirror, remote, run

    with fresh_portal() as tmp:
        source = remote.CkanSource(url, timeout=60, retries=2)
        fetcher = mirror.Fetcher(guard=outbound.Guard.from_settings(["127.0.0.0/8"]), timeout=10)
        store = storage.LocalStorage(f"{tmp}/mirror")
        began = time.perf_counter()
        done = run.sync(source, run.Settings(full=True, mirror=True), store=store, fetcher=fetcher)
        seconds = time.perf_counter() - began
        copied = db.session.scalar(db.select(db.func.count()).where(Resource.storage_key.is_not(None)))
        skipped = db.session.scalar(
            db.select(db.func.count()).where(Resource.mirror_error.contains(mirror.UNREACHABLE))
        )
        errors = len(done.errors)
        db.engine.dispose()
    return {
        "files": copied,
        "seconds": seconds,
        "files_per_s": copied / seconds,
        "unreachable_files": skipped,
        "unreachable_hosts": sorted(fetcher.unreachable),
        "errors_recorded": errors,
    }


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(count: int) -> dict:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = child.stdout.readline().strip()
    try:
        return _measure(count, url, child.pid)
    finally:
        child.stdin.close()
        child.wait(30)


@contextlib.contextmanager
def counting(engine):
    """Yield a dict counting the statements and commits `engine` sends while the block runs (the sync's
    COPYs on PostgreSQL go through the DBAPI connection: not counted, each replaces an executemany)."""
    from sqlalchemy import event

    counts = {"statements": 0, "commits": 0}

    def statement(*args):
        counts["statements"] += 1

    def commit(*args):
        counts["commits"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def server_cpu(engine) -> dict[int, float] | None:
    """The CPU seconds (user and system) each PostgreSQL backend of this database has used so far, by
    process id, read from /proc (the server runs on this machine); None on SQLite or when unreadable."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).scalars()
        used = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def process_cpu(pid: int) -> float:
    """The CPU seconds (user and system) process `pid` of this machine has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(count: int, url: str, ckan_pid: int) -> dict:
    from portal import outbound
    from portal.extensions import db
    from portal.sync import remote, run

    with fresh_portal():  # behind the outbound guard, as the portal opens its source (sync/collaborators.py)
        guard = outbound.Guard.from_settings(["127.0.0.0/8"])
        source = remote.CkanSource(url, timeout=60, retries=2, guard=guard)
        server, ckan = server_cpu(db.engine), process_cpu(ckan_pid)
        began, cpu = time.perf_counter(), time.process_time()
        with counting(db.engine) as sent:
            full = run.sync(source, run.Settings(full=True))
        full_s, cpu = time.perf_counter() - began, time.process_time() - cpu
        ckan = process_cpu(ckan_pid) - ckan
        after = server_cpu(db.engine)
        if server is not None and after is not None:  # backends of the run (the pool keeps them)
            server = sum(used - server.get(pid, 0.0) for pid, used in after.items())
        else:
            server = None
        if full.status != "succeeded" or full.created != count:
            from portal.sync.models import SyncError

            errors = db.session.scalars(db.select(SyncError).limit(5)).all()
            raise SystemExit(
                f"full sync {full.status}: {full.created} created, {full.failed} failed; "
                + "; ".join(f"{e.package}: {e.stage}: {e.message[:200]}" for e in errors)
            )
        urllib.request.urlopen(f"{url}/_bench/touch?n=100", timeout=120).read()
        began = time.perf_counter()
        incremental = run.sync(source, run.Settings())
        incremental_s = time.perf_counter() - began
        assert incremental.updated == 100, (incremental.updated, incremental.seen)
        db.engine.dispose()
    return {
        "packages": count,
        "full_s": full_s,
        "cpu_s": cpu,
        "server_cpu_s": server,
        "ckan_cpu_s": ckan,
        "per_s": count / full_s,
        "statements": sent["statements"] / count,
        "commits": sent["commits"] / count,
        "incremental_s": incremental_s,
        "incremental_seen": incremental.seen,
        "peak_mb": peak_mb(),
    }


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the catalogue sync against a generated CKAN served over HTTP "
        "(on DATABASE_URL, else SQLite in a temporary folder).",
    )
    parser.add_argument(
        "sizes", nargs="*", type=int, metavar="N", help="datasets in the generated CKAN (default 10000)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the last size's figures to FILE as JSON")
    parser.add_argument(
        "--mirror", type=int, default=0, metavar="FILES", help="add a mirroring load of about FILES files"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child processes' own entries
    parser.add_argument("--serve-mirror", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(size < 1 for size in args.sizes) or args.mirror < 0:
        parser.error("sizes must be positive and --mirror at least 0")
    if not args.sizes and not args.mirror:
        args.sizes = [10_000]
    return args


if __name__ == "__main__":
    args = _arguments(sys.argv[1:])
    if args.serve is not None:
        serve(args.serve)
        sys.exit(0)
    if args.serve_mirror is not None:
        serve_mirror(args.serve_mirror)
        sys.exit(0)
    sizes, json_path, mirror_files = args.sizes, args.json, args.mirror
    print(f"database: {os.environ.get('DATABASE_URL') or 'SQLite'}; load {os.getloadavg()}", flush=True)
    figures: dict = {}
    for size in sizes:
        r = bench(size)
        print(
            f"{r['packages']:>7} packages: full sync {r['full_s']:.1f} s = {r['per_s']:.0f} datasets/s "
            f"({r['statements']:.2f} statements, {r['commits']:.3f} commits, "
            f"{r['cpu_s'] / r['packages'] * 1000:.2f} ms of this process's CPU per dataset"
            + (
                f", {r['server_cpu_s'] / r['packages'] * 1000:.2f} ms of the PostgreSQL server's"
                if r["server_cpu_s"] is not None
                else ""
            )
            + f", {r['ckan_cpu_s'] / r['packages'] * 1000:.2f} ms of the fake CKAN's"
            + "); "
            f"incremental (100 changed, {r['incremental_seen']} read) {r['incremental_s']:.2f} s; "
            f"peak memory {r['peak_mb']:.0f} MB",
            flush=True,
        )
        figures.update(
            full={
                "datasets": r["packages"],
                "seconds": r["full_s"],
                "datasets_per_s": r["per_s"],
                "statements_per_dataset": r["statements"],
                "commits_per_dataset": r["commits"],
                "cpu_ms_per_dataset": r["cpu_s"] / r["packages"] * 1000,
                "server_cpu_ms_per_dataset": None
                if r["server_cpu_s"] is None
                else r["server_cpu_s"] / r["packages"] * 1000,
                "ckan_cpu_ms_per_dataset": r["ckan_cpu_s"] / r["packages"] * 1000,
            },
            database="PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite",
            incremental={"changed": 100, "seconds": r["incremental_s"]},
            peak_rss={"mb": r["peak_mb"]},
        )
    if mirror_files:
        m = bench_mirror(mirror_files)
        print(
            f"mirroring: {m['files']} files in {m['seconds']:.1f} s = {m['files_per_s']:.0f} files/s; "
            f"{m['unreachable_files']} files on {len(m['unreachable_hosts'])} unreachable hosts skipped, "
            f"{m['errors_recorded']} problems recorded",
            flush=True,
        )
        figures["mirror"] = m
        figures["peak_rss"] = {"mb": peak_mb()}
    figures["load_average"] = os.getloadavg()
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2))
