"""The rows benchmark's repeated HTTP loads (bench/rows_bench.py `--repeat`): every run is kept and the one
with the median p99 is reported, never the best. The benchmark itself stays out of CI; gunicorn and wrk are
stood in for here."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the module puts bench/ on it, for this test only
    spec = importlib.util.spec_from_file_location("rows_bench", BENCH / "rows_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_median_run_is_reported_the_higher_middle_of_an_even_number(bench):
    runs = [{"99": p99} for p99 in (80.0, 120.0, 95.0)]
    assert bench.median_run(runs) == {"99": 95.0}
    assert bench.median_run([{"99": 40.0}, {"99": 60.0}]) == {"99": 60.0}
    assert bench.median_run([{"99": 7.0}]) == {"99": 7.0}


def test_repeated_loads_keep_every_run_against_one_server(bench, monkeypatch, capsys):
    served, loads = [], []
    p99s = iter([30.0, 90.0, 50.0, 110.0, 40.0, 70.0])  # filter, q, filter, q, filter, q

    class Server:
        def terminate(self):
            served.append("stopped")

        def wait(self, timeout):
            return 0

    def serve(*args):
        served.append("started")
        return Server()

    def load(url, *, duration, connections, paths):
        loads.append(paths[0])
        return {"rps": 100.0, "50": 10.0, "90": 20.0, "99": next(p99s), "errors": 0}

    monkeypatch.setattr(bench, "serve", serve)
    monkeypatch.setattr(bench.catalogue_bench, "load", load)
    args = argparse.Namespace(
        database_url="sqlite://", workers=None, threads=None, port=1, duration=1, connections=16, repeat=3
    )
    results = bench._over_http(args, {"filter": 50, "q": 100}, 4, 4)
    assert served == ["started", "stopped"] and len(loads) == 6
    assert [r["99"] for r in results["filter"]["runs"]] == [30.0, 50.0, 40.0]
    assert [r["99"] for r in results["q"]["runs"]] == [90.0, 110.0, 70.0]
    assert (results["filter"]["99"], results["q"]["99"]) == (40.0, 90.0)
    out = capsys.readouterr().out
    assert "q 2:" in out and "missed" in out and "median:" in out
