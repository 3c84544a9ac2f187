"""The rows area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.rows import api, ckan, views

PAGES = (views.bp,)
API = (api.bp,)
CKAN_ACTIONS = ckan.ACTIONS  # the row store answers datastore_* on the CKAN-compatible API
