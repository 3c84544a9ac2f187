"""Count what the catalogue's pages cost one process, on catalogue_bench.py's loads: figures a busy machine
cannot skew (Python calls) and one it skews little (CPU time of this process).

    python bench/page_cost.py --database bench/out/catalogue-20000.db --json cost.json

For each load of bench/catalogue_bench.py (the catalogue page, the 交通 search, one dataset page, and the
varied loads: 200 catalogue URLs, 2,000 dataset pages, cycled in order so that the dataset pages overflow
the caches as wrk's random draws do) it reports, per view by a visitor without cookies through the test
client (some 650 of the calls are the client's), the Python calls (cProfile) and the CPU milliseconds
(time.process_time, without the profiler). The activity events are left to the backlog's writer, as in
production, and written between the counts. The views write activity events into the database given:
use a copy, not a catalogue another benchmark is reading (issue 20 item 2).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import pstats
import random
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ["交通", "医疗", "学校", "公交", "企业", "环境", "旅游", "人口", "doctor", "停车场"]


def loads(url: str) -> dict[str, list[str]]:
    """catalogue_bench.py's pages, with its varied loads' URLs drawn from the catalogue at `url`."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        published = "SELECT name FROM datasets WHERE state = 'published'"
        name = connection.exec_driver_sql(f"{published} ORDER BY id LIMIT 1 OFFSET 500").scalar_one()
        names = list(connection.exec_driver_sql(f"{published} ORDER BY id").scalars())
        facet_values = [
            f"{param}={urllib.parse.quote(value)}"
            for param, statement in (
                ("theme", "SELECT name FROM themes"),
                ("department", "SELECT name FROM departments ORDER BY name LIMIT 20"),
                ("region", "SELECT code FROM regions"),
                ("format", "SELECT DISTINCT format FROM resources WHERE format != '' ORDER BY 1"),
                ("tag", "SELECT name FROM tags ORDER BY name LIMIT 20"),
            )
            for (value,) in connection.exec_driver_sql(statement)
        ]
    engine.dispose()
    random.Random(1).shuffle(names)
    catalogue = [f"/datasets/?page={n}" for n in range(1, 41)] + [f"/datasets/?{v}" for v in facet_values]
    catalogue += [f"/datasets/?sort={s}&page={n}" for s in ("downloads", "name") for n in (1, 2, 3)]
    catalogue += [f"/datasets/?q={urllib.parse.quote(w)}&page={n}" for w in WORDS for n in (1, 2)]
    return {
        "catalogue": ["/datasets/"],
        "search": ["/datasets/?q=" + urllib.parse.quote("交通")],
        "dataset": [f"/datasets/{name}"],
        "varied_catalogue": catalogue[:200],
        "varied_datasets": [f"/datasets/{n}" for n in names[:2000]],
    }


def measure(app, paths: list[str], views: int) -> dict:
    from portal.activity import backlog

    def run(count: int) -> None:
        for n in range(count):
            response = app.test_client().get(paths[n % len(paths)])
            assert response.status_code == 200, (paths[n % len(paths)], response.status_code)

    run(max(len(paths), 5))  # every URL once: the caches hold what they can, as a serving worker's do
    backlog.drain_all()
    gc.collect()
    gc.disable()
    began = time.process_time()
    run(views)
    cpu = (time.process_time() - began) / views
    gc.enable()
    backlog.drain_all()
    profile, counted = cProfile.Profile(), min(views, 400)
    gc.collect()
    gc.disable()
    profile.enable()
    run(counted)
    profile.disable()
    gc.enable()
    backlog.drain_all()
    calls = sum(stats[1] for stats in pstats.Stats(profile).stats.values()) / counted
    return {"python_calls": round(calls), "cpu_ms": round(cpu * 1000, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", required=True, help="a SQLite catalogue, e.g. a copy of catalogue-20000.db"
    )
    parser.add_argument("--only", help="comma-separated loads to measure")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args()
    from portal import create_app

    url = f"sqlite:///{Path(args.database).resolve()}"
    instance = tempfile.mkdtemp(prefix="page-cost-")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "ACTIVITY_FLUSH_MS": 600_000})  # fmt: skip
    logging.disable(logging.WARNING)
    figures = {}
    for label, paths in loads(url).items():
        if args.only and label not in args.only.split(","):
            continue
        views = 2000 if label == "varied_datasets" else max(400, 2 * len(paths))
        figures[label] = measure(app, paths, views)
        print(
            f"{label:>16}: {figures[label]['python_calls']:6d} calls, {figures[label]['cpu_ms']:6.3f} ms CPU"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
