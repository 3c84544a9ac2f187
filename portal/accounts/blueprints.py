"""The accounts area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.accounts import (
    reset_views,  # noqa: F401 (adds its routes to views.bp)
    token_views,
    views,
)

PAGES = (views.bp, token_views.bp)
