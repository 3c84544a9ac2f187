"""Benchmark the quality board and its API at 20,000 and 100,000 datasets, against the minimal route.

    python bench/quality_bench.py                                  # 20,000 and 100,000 datasets
    python bench/quality_bench.py --datasets 20000 100000 --duration 15 --connections 16 --json q.json
    python bench/quality_bench.py --database-url postgresql://postgres@127.0.0.1:5432/catalogue

The catalogues are catalogue_bench.py's (bench/out/catalogue-<N>.db, or with a PostgreSQL
--database-url / DATABASE_URL the database <its name>_<N> on that server, built once through the
real sync from the same generator). For each size, one gunicorn serves the portal with the minimal
route of catalogue_bench, and wrk loads in turn the minimal route, the public quality board
(/stats/quality), /api/v1/quality/departments and /api/v1/quality/counties, each after a
two-second unmeasured run that warms every worker's caches (issue 20: the summary is cached per
catalogue generation, so a warm answer must not cost work proportional to the catalogue). Each
figure is printed beside its share of that run's minimal route. `--json FILE` writes
{"<N>": {"minimal": {"rps", "p50_ms", "p90_ms", "p99_ms", "errors"}, "board": {..., "share"},
"departments": ..., "counties": ...}, "database": "sqlite"|"postgresql",
"load_average": [1, 5, 15 min]}; "share" is rps ÷ the minimal route's rps of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalogue_bench  # noqa: E402  (beside this file)

LOADS = {
    "minimal": "/bench/minimal",
    "board": "/stats/quality",
    "departments": "/api/v1/quality/departments",
    "counties": "/api/v1/quality/counties",
}


def measure(count: int, args: argparse.Namespace) -> dict:
    """Load each of LOADS on a catalogue of `count` datasets; return their figures with shares."""
    database = catalogue_bench.build(count, args.database_url)
    server = catalogue_bench.serve(database, args.workers, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        results = {
            name: catalogue_bench.load(base + path, duration=args.duration, connections=args.connections)
            for name, path in LOADS.items()
        }
    finally:
        catalogue_bench.stop(server)
    floor = results["minimal"]["rps"]
    return {
        name: {
            "rps": r["rps"],
            "p50_ms": r["50"],
            "p90_ms": r["90"],
            "p99_ms": r["99"],
            "errors": r["errors"],
            "share": round(r["rps"] / floor, 4) if floor else None,
        }
        for name, r in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5098)
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL URL: the catalogues live in <its database>_<N> "
        "(default: $DATABASE_URL; without either, SQLite in bench/out)",
    )
    args = parser.parse_args()
    figures: dict = {str(count): measure(count, args) for count in args.datasets}
    figures["database"] = catalogue_bench.database_kind(args.database_url or "sqlite")
    figures["load_average"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"gunicorn -w {args.workers}, wrk -c{args.connections} -d{args.duration}s; load {os.getloadavg()}")
    print(f"database: {figures['database']}")
    for count in args.datasets:
        for name, r in figures[str(count)].items():
            print(
                f"{count:>7} {name:>12}: {r['rps']:8.1f} req/s ({r['share']:5.0%} of minimal)  "
                f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}"
            )


if __name__ == "__main__":
    main()
