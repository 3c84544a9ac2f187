"""Parts of the site's layout (base.html) kept once rendered, per language.

The header's navigation, the anonymous visitor's sign-in links and the footer are the same on every
page in one language: a dozen translated strings and as many links, about a third of the plainest
page's cost when rendered each time (issue 20). base.html wraps each in
`{% call layout_part(name, *keys) %}…{% endcall %}`; the part is rendered on its first use and then
served from the process's memory. A part may depend only on the language, the script root (links
are built under it) and the keys it names (the header names the request's blueprint, which marks the
current section). With the templates reloading (debug), parts are rendered every time.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from markupsafe import Markup

from portal.i18n import request_translations

MAX_PARTS = 1_000  # beyond it (keys made up at run time), parts are rendered each time


def init_app(app: Flask) -> None:
    environment = app.jinja_env
    parts: dict[tuple, Markup] = {}

    def layout_part(*keys, caller) -> Markup:
        """Return the part `keys` names, rendering it (`caller`) only the first time per language."""
        if environment.auto_reload or not has_request_context():
            return caller()
        key = (request_translations(), request.script_root, *keys)
        found = parts.get(key)
        if found is None:
            found = caller()
            if len(parts) < MAX_PARTS:
                parts[key] = found
        return found

    environment.globals["layout_part"] = layout_part
