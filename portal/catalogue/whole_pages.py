"""Whole catalogue and dataset pages kept for visitors who are not signed in (issue 20): the caches are
search_cache.listings and search_cache.dataset_pages.

What such a visitor sees of the catalogue page or a published dataset's page depends only on the URL
(path and query: the layout's forms carry it as `next`), the language, the text size and the data;
base.html gives a visitor without a session no token, no name and, without a flash waiting, no
message. So the rendered page is kept under those keys, stamped as the parts it is made of are
(catalogue/changes.py): the catalogue page with the catalogue's generation and the versions of the
datasets it lists, a dataset's page with the dataset's version and state. The response's own parts
(request id, security headers, the `vid` cookie, the activity event) are added per request by the hooks
and the views, as for any page. A signed-in user's page, or one with a message waiting, is never read
from nor put into these caches.
"""

from __future__ import annotations

from collections.abc import Hashable

from flask.globals import _cv_app, _cv_request
from flask_login import current_user

from portal.catalogue.search_cache import dataset_pages, listings
from portal.i18n import request_locale_name

__all__ = ["dataset_pages", "key", "listings"]


def key(kind: str) -> Hashable | None:
    """Return the cache key of this request's page of `kind`, or None when the page is the visitor's
    own (signed in, or a flashed message waiting to be shown). The request, its app, session and user
    are read from Flask's context variables and g, not through their proxies (three calls at each use,
    seven uses; issue 20)."""
    context = _cv_request.get()
    user = vars(_cv_app.get().g).get("_login_user")  # Flask-Login's current user, once it looked
    if user is None:
        user = current_user._get_current_object()
    if user.is_authenticated or "_flashes" in context.session:
        return None
    req = context.request
    return (
        kind,
        req.script_root,
        req.path,
        req.query_string,
        request_locale_name(),  # str(flask_babel.get_locale())
        context.app.jinja_env.globals["large_text"](),  # what base.html reads of the text size
    )
