"""The feedback area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.feedback import (
    api,
    request_views,  # noqa: F401 (adds its routes to views.bp)
    views,
)

PAGES = (views.bp,)
API = (api.bp, api.requests_bp)
