"""The headers every answer carries: the security headers, and the request's id (portal/ops/logs.py)."""

from __future__ import annotations

from flask import Flask, Response
from flask.globals import _cv_app

from portal.ops.logs import HEADER as REQUEST_ID
from portal.wrappers import header_names

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
_BY_LOWER_NAME = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)


def _secure(response: Response) -> Response:
    """Add each security header the view did not set itself, and the request's id, replacing one a view
    set (logs.py takes or makes it).

    One pass over the response's headers for them all: each setdefault scans them twice, about 120
    Python calls per request of the plainest page, and setting the id scanned them again (issue 20).
    """
    context = _cv_app.get()  # the app and g without their proxies' calls
    headers = response.headers
    present = header_names(headers)
    # appended to the headers' list as `headers.add` appends them, without its two calls checking each
    # value for newlines: these values are ours, and the request id is checked (logs.py) or made here
    append = headers._list.append
    for lower, name, value in _BY_LOWER_NAME:
        if lower not in present:
            append((name, value))
    config = context.app.config
    # behind TLS only: browsers then insist on it
    if config["PREFERRED_URL_SCHEME"] == "https" and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", f"max-age={config['HSTS_MAX_AGE']}")
    given = getattr(context.g, "request_id", None)
    if given is not None:
        if REQUEST_ID.lower() in present:
            headers.set(REQUEST_ID, given)
        else:
            append((REQUEST_ID, given))
    return response


def register(app: Flask) -> None:
    app.after_request(_secure)
