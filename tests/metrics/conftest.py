"""Fixtures of the metrics tests; the hand-computed city and its helpers are in tests/metrics_factories.py."""

from __future__ import annotations

import pytest
from metrics_factories import build_city


@pytest.fixture
def city(app):
    """The city of tests/metrics_factories.py, rolled up at NOW."""
    return build_city()
