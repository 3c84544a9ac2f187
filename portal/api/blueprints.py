"""The api area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.api import ckan, dcat, docs_views, quality, v1, views

# the catalogue's and quality's JSON at /api/v1; v1.bp, the parent every area's API nests in, is
# registered after them all
API = (views.bp, quality.bp)
PAGES = (v1.bp, docs_views.bp, ckan.bp, dcat.bp)
