"""Benchmark the catalogue page while the worst searches the API accepts run beside it (issue 13).

    python bench/search_abuse_bench.py     # 100,000 datasets, the database catalogue_bench builds
    python bench/search_abuse_bench.py --duration 20 --workers 4 --threads 4

Four connections keep sending the most expensive searches within the bounds (bench/out's
catalogue of generated datasets, through the real sync): CKAN package_search with ten common
free-text terms ranked by score with every facet and 1,000 rows; the most clauses, with the
two unindexed ones (res_name, extras) allowed; the deepest nesting with negations; and the
catalogue page's and /api/v1's longest searches. Meanwhile wrk loads the catalogue page. It
prints the page's latency alone and under attack, and what the attackers got back (200, 409
refusals, 503 statement timeouts). Rate limits are off: an attacker with many addresses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import catalogue_bench  # noqa: E402 (bench/ is not a package)

WORDS = ["交通", "数据", "医疗", "学校", "公交", "企业", "环境", "旅游", "人口", "信息"]
FACETS = json.dumps(["organization", "groups", "tags", "res_format", "license_id"])
SEARCH = "/api/3/action/package_search"


def worst_requests() -> list[tuple[str, str, str | None]]:
    """(method, path, JSON body) of the costliest requests the bounds let through."""
    bodies = [
        {"q": " OR ".join(WORDS), "rows": 1000, "facet.field": FACETS, "facet.limit": -1},
        {
            "q": "res_name:表 OR update_frequency:每月 OR " + " OR ".join(f"tags:t{n}" for n in range(28)),
            "fq_list": [f"organization:o{n} OR groups:g{n}" for n in range(10)],
            "rows": 1000,
            "sort": "title_string desc, name asc, license_id desc, metadata_created asc",
        },
        {
            "q": "(" * 6 + " OR ".join(WORDS[:5]) + ")" * 6 + " -(" + " ".join(WORDS[5:]) + ")",
            "fq": "NOT (" + " OR ".join(f"tags:t{n}" for n in range(20)) + ")",
            "rows": 1000,
            "facet.field": FACETS,
        },
    ]
    requests = [("POST", SEARCH, json.dumps(b, ensure_ascii=False)) for b in bodies]
    longest = "".join(WORDS) * 5  # 100 characters: the catalogue's own bound
    requests.append(("GET", "/datasets/?q=" + urllib.parse.quote(longest[:100]), None))
    requests.append(("GET", "/api/v1/datasets?per_page=100&q=" + urllib.parse.quote(longest[:100]), None))
    return requests


def attack_script(requests: list[tuple[str, str, str | None]]) -> Path:
    """A wrk script sending the requests in turn, and counting the answers' statuses."""
    entries = []
    for method, path, body in requests:
        lua_body = (
            "nil" if body is None else json.dumps(body, ensure_ascii=False)
        )  # valid Lua: \" and \\ only
        entries.append(f'{{"{method}", {json.dumps(path)}, {lua_body}}}')
    script = OUT / "attack.lua"
    script.write_text(
        "local requests = {\n" + ",\n".join(entries) + "\n}\n"
        "local n = 0\n"
        "ok, refused, timeout, other = 0, 0, 0, 0\n"
        "local threads = {}\n"
        "setup = function(thread) table.insert(threads, thread) end\n"
        "request = function()\n"
        "  n = n % #requests + 1\n"
        "  local r = requests[n]\n"
        "  local headers = r[3] and {['Content-Type'] = 'application/json'} or {}\n"
        "  return wrk.format(r[1], r[2], headers, r[3])\n"
        "end\n"
        "response = function(status)\n"
        "  if status == 200 then ok = ok + 1\n"
        "  elseif status == 409 or status == 400 then refused = refused + 1\n"
        "  elseif status == 503 then timeout = timeout + 1 else other = other + 1 end\n"
        "end\n"
        "done = function()\n"
        "  for _, t in ipairs(threads) do\n"
        "    for _, name in ipairs({'ok', 'refused', 'timeout', 'other'}) do\n"
        "      io.write('status ', name, ' ', t:get(name), '\\n')\n"
        "    end\n"
        "  end\n"
        "end\n",
        encoding="utf-8",
    )
    return script


def serve(database: Path, workers: int, threads: int, port: int, timeout_ms: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "PORTAL_INSTANCE_PATH": str(OUT / "instance"),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": "false",
        "DB_STATEMENT_TIMEOUT_MS": str(timeout_ms),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
    ]
    command += ["-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning", "wsgi:app"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    return catalogue_bench.wait_until_serving(process, port, tries=150)


def upgrade(database: Path) -> None:
    """Bring the benchmark's database to the migrations' head (it may predate newer revisions)."""
    from flask_migrate import upgrade as migrate

    from portal import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "INSTANCE_PATH": str(OUT / "instance")})
    with app.app_context():
        migrate(revision="heads")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4, help="of the catalogue page's load")
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout-ms", type=int, default=2000, help="DB_STATEMENT_TIMEOUT_MS")
    parser.add_argument("--port", type=int, default=5098)
    args = parser.parse_args()
    database = catalogue_bench.build(args.datasets)
    upgrade(database)
    script = attack_script(worst_requests())
    server = serve(database, args.workers, args.threads, args.port, args.timeout_ms)
    base = f"http://127.0.0.1:{args.port}"
    page = base + "/datasets/"
    try:
        alone = catalogue_bench.load(page, duration=args.duration, connections=args.connections)
        attack = subprocess.Popen(
            ["wrk", "-t1", f"-c{args.attackers}", f"-d{args.duration + 6}s", "--timeout", "60s",
             "-s", str(script), base + "/"],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        time.sleep(3)  # the attackers are at work before the page is measured
        attacked = catalogue_bench.load(page, duration=args.duration, connections=args.connections)
        report = attack.communicate(timeout=args.duration + 120)[0]
    finally:
        server.terminate()
        try:
            server.wait(30)  # threads finish the requests in flight
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    statuses = dict(re.findall(r"status (\w+) (\d+)", report))  # 200, 400/409, 503, other
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", report)
    print(
        f"{args.datasets} datasets, gunicorn -w {args.workers} -k gthread --threads {args.threads}, "
        f"DB_STATEMENT_TIMEOUT_MS={args.timeout_ms}, page load wrk -c{args.connections} -d{args.duration}s, "
        f"{args.attackers} attackers"
    )
    for label, r in (("page alone", alone), ("page under attack", attacked)):
        print(
            f"{label:>18}: {r['rps']:7.1f} req/s  p50 {r['50']:6.1f} ms  p90 {r['90']:6.1f} ms  "
            f"p99 {r['99']:6.1f} ms  errors {r['errors']}"
        )
    print(
        f"{'attackers':>18}: answers by status {statuses}; "
        f"latency avg/stdev/max {latency.groups() if latency else '?'}"
    )
    print(f"{'verdict':>18}: page p99 under attack {'<' if attacked['99'] < 200 else '>='} 200 ms")


if __name__ == "__main__":
    main()
