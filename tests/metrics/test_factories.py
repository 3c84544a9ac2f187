"""The hand-computed city of tests/metrics_factories.py is built and rolled up to its last day."""

from __future__ import annotations

from metrics_factories import LAST_DAY, build_city

from portal.metrics import rollup


def test_the_city_is_built_and_rolled_up(app):
    build_city()
    assert rollup.watermark() == LAST_DAY
