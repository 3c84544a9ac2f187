"""The applications area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.applications import api, review_views, team_views, views  # noqa: F401 (they add to views.bp)

PAGES = (views.bp,)
API = (api.bp,)
