"""Request metrics: each request counted in its endpoint's series, looked up once per series (issue 20)."""

from __future__ import annotations

import cProfile
import pstats

from flask import Response
from prometheus_client import REGISTRY

from portal.ops import telemetry


def answered(endpoint: str, status: str) -> float:
    labels = {"endpoint": endpoint, "method": "GET", "status": status}
    return REGISTRY.get_sample_value("portal_requests_total", labels) or 0.0


def test_every_request_is_counted_in_its_endpoints_series(client):
    before = answered("site.home", "200"), answered("unmatched", "404")
    for path in ["/", "/", "/no-such-page"]:
        client.get(path)
    assert answered("site.home", "200") - before[0] == 2
    assert answered("unmatched", "404") - before[1] == 1


def test_observing_a_request_takes_few_calls_once_its_series_is_known(app, client):
    client.get("/healthz")  # the series of ops.healthz, 200 exists now
    profile = cProfile.Profile()
    with app.test_request_context("/healthz"):  # matched to ops.healthz
        telemetry._start_timer()
        profile.runcall(telemetry._observe, Response("ok"))
    calls = sum(stats[1] for stats in pstats.Stats(profile).stats.values())
    assert calls <= 40  # looking both series up again took 53
