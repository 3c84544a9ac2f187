"""The catalogue area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.catalogue import (
    access_views,
    dataset_views,  # noqa: F401 (adds its routes to views.bp)
    views,
)

PAGES = (access_views.bp, views.bp)
