"""The metrics area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.metrics import admin_views, api, views

PAGES = (views.bp, admin_views.bp)
API = (api.bp,)
