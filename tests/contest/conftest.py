"""Fixtures of the contest tests; the factories are in tests/contest_factories.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def english(app):
    """Run the test in a request whose visitor chose English, so that messages read as in the code."""
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        yield
