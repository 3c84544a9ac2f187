"""Moved to `portal.activity.events`; this name stays only until the tests that import it move."""

from portal.activity.events import *  # noqa: F401, F403
