"""The site area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.site import views

PAGES = (views.bp,)
