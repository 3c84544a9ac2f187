"""The sync area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.sync import views

PAGES = (views.bp,)
