"""The feedback area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.feedback import (
    api,
    comment_views,
    comments_api,
    owner_views,
    request_views,  # noqa: F401 (adds its routes to views.bp)
    views,
)

PAGES = (views.bp, comment_views.bp, owner_views.bp)
API = (api.bp, api.requests_bp, comments_api.bp)
