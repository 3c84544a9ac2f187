"""The contest area's web surface, as every area declares it (WEB_AREAS in portal/__init__.py)."""

from __future__ import annotations

from portal.contest import api, views

PAGES = (views.bp,)  # its desks (teams, judging, office, results) are nested in it
API = (api.bp,)
