"""The metrics area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.metrics import admin_views, api, quality_views, views

PAGES = (views.bp, admin_views.bp, quality_views.bp)
API = (api.bp,)
