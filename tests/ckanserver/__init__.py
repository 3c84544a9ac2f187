"""A CKAN 2.12 Action API served over real HTTP on 127.0.0.1, for the sync's tests and benchmarks.

Answers copy the captured ones in ``tests/ckan_samples`` and the code paths of CKAN's
``views/api.py``, ``logic/action/get.py`` and its Solr query: the same envelopes, error types, HTTP
statuses and limits (1,000 rows per search, 25 entries per ``all_fields`` group list). The caller is
always anonymous, so private and deleted datasets behave as they do for an anonymous client.

Packages are kept as encoded JSON plus a few indexed fields, never as live dicts, so a catalogue of
100,000 datasets fits in memory and a page is served by joining pre-encoded bodies.

The package splits it by job: `model` (the catalogue and its changes), `search` (package_search's Solr
semantics), `actions` (the Action API's answers), `server` (the WSGI app with injected faults, and `serve`),
`dates` and `errors`. Import from the package: `from ckanserver import FakeCkan, serve`.
"""

from __future__ import annotations

from .dates import solr_date
from .errors import ActionError
from .model import (
    CKAN_VERSION,
    DEFAULT_SORT,
    GROUP_LIST_ALL_FIELDS_MAX,
    GROUP_LIST_MAX,
    LICENSES,
    MALFORMATIONS,
    ROWS_MAX,
    STAMP,
    Catalogue,
)
from .server import HTML_TYPE, JSON_TYPE, FakeCkan, serve

__all__ = [
    "CKAN_VERSION",
    "DEFAULT_SORT",
    "GROUP_LIST_ALL_FIELDS_MAX",
    "GROUP_LIST_MAX",
    "HTML_TYPE",
    "JSON_TYPE",
    "LICENSES",
    "MALFORMATIONS",
    "ROWS_MAX",
    "STAMP",
    "ActionError",
    "Catalogue",
    "FakeCkan",
    "serve",
    "solr_date",
]
