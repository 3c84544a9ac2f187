"""Read a 10,000-dataset catalogue with the standard tools at the default API limits, and count the 429s.

    python bench/api_limits_bench.py                      # 10,000 datasets, 2 gunicorn workers, Redis db 7
    python bench/api_limits_bench.py --datasets 2000 --workers 4

Builds the catalogue once through the real sync (bench/catalogue_bench.py's `build`), serves it with gunicorn
and the default limits switched on, the limits' counters in Redis (as a deployment with several workers keeps
them; the database given is flushed first), makes an API token with `flask tokens create`, then runs:

1. `ckanapi dump datasets --all -p 3` (package_list, then package_show per dataset, three in parallel);
2. `package_search` paged by 1,000 rows with `ckanapi.RemoteCKAN`, until an empty page;

both with the same token, one right after the other, and prints for each the time taken, the datasets read
and whether a 429 came; then what the budgets have left (`X-RateLimit-*`). The arithmetic is in
portal/api/costs.py; tests/api/test_costs.py checks it at 10,000 datasets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def environment(database: Path, redis_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PORTAL_INSTANCE_PATH": str(OUT / "instance"),
        "SECRET_KEY": "bench",
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": "true",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # ckanapi's workers run `ckanapi`
    }


def serve(env: dict, workers: int, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    process = subprocess.Popen([*command, "--log-level", "warning", "wsgi:app"], env=env, cwd=ROOT)
    import catalogue_bench

    return catalogue_bench.wait_until_serving(process, port)


def make_token(env: dict) -> str:
    command = [
        str(BIN / "flask"),
        "--app",
        "wsgi",
        "tokens",
        "create",
        "--email",
        "bench-script@jiaxing.gov.cn",
    ]
    made = subprocess.run(
        [*command, "--name", "基准脚本", "--create-account"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise SystemExit(made.stderr)
    return made.stdout.strip()


def dump(url: str, token: str, env: dict) -> tuple[float, int, str]:
    out = OUT / "api-limits-dump.jsonl"
    began = time.perf_counter()
    command = [str(BIN / "ckanapi"), "dump", "datasets", "--all", "-r", url, "-a", token, "-p", "3"]
    finished = subprocess.run([*command, "-O", str(out), "-q"], env=env, capture_output=True, text=True)
    took = time.perf_counter() - began
    names = (
        {json.loads(line)["name"] for line in out.read_text("utf-8").splitlines()} if out.exists() else set()
    )
    out.unlink(missing_ok=True)
    failure = "" if finished.returncode == 0 else finished.stderr.strip().splitlines()[-1][:300]
    return took, len(names), failure


def paged_search(url: str, token: str) -> tuple[float, int, int, str]:
    import ckanapi

    portal, found, start, pages = ckanapi.RemoteCKAN(url, apikey=token), set(), 0, 0
    began = time.perf_counter()
    try:
        while True:
            page = portal.action.package_search(rows=1000, start=start, sort="name asc")["results"]
            pages += 1
            if not page:
                break
            found.update(d["name"] for d in page)
            start += 1000
    except ckanapi.CKANAPIError as exc:
        return time.perf_counter() - began, len(found), pages, str(exc)[:300]
    return time.perf_counter() - began, len(found), pages, ""


def left(url: str, token: str) -> str:
    request = urllib.request.Request(f"{url}/api/v1/themes", headers={"X-API-Key": token})
    with urllib.request.urlopen(request, timeout=10) as answer:
        headers = answer.headers
    return f"limit {headers['X-RateLimit-Limit']}, remaining {headers['X-RateLimit-Remaining']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="flushed before the run")
    args = parser.parse_args()

    import catalogue_bench
    import redis

    from portal import config
    from portal.api import costs

    database = catalogue_bench.build(args.datasets)
    redis.Redis.from_url(args.redis).flushdb()
    env = environment(database, args.redis)
    token = make_token(env)
    server = serve(env, args.workers, args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        print(
            f"limits: {config.API_RATELIMIT_TOKEN} requests, {config.API_RATELIMIT_TOKEN_ROWS} rows per user"
        )
        expected = costs.catalogue_read(args.datasets)
        print(f"arithmetic: both reads cost {expected.requests} requests and {expected.rows} rows")
        took, read, failure = dump(url, token, env)
        outcome = f"refused: {failure}" if failure else "no 429"
        print(f"ckanapi dump datasets --all -p 3: {read} datasets in {took:.1f} s, {outcome}")
        took, read, pages, failure = paged_search(url, token)
        print(
            f"package_search rows=1000: {read} datasets, {pages} pages in {took:.1f} s, "
            f"{'refused: ' + failure if failure else 'no 429'}"
        )
        print(f"budget left after both: {left(url, token)}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
