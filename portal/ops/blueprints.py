"""The ops area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.ops import views

PAGES = (views.bp,)
