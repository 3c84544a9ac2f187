"""The admin area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.admin import audit_views, jobs_views, monitoring_views, views

PAGES = (views.bp, audit_views.bp, jobs_views.bp, monitoring_views.bp)
