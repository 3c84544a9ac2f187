"""The app's request class (portal/wrappers.py): Werkzeug's cookies, read from the environ at once."""

from __future__ import annotations

import pytest
from calls import python_calls
from flask import Request as FlaskRequest
from werkzeug.test import EnvironBuilder

from portal.wrappers import Request

HEADERS = [
    None,
    "",
    "lang=en",
    'lang=en; text_size=large; vid=0123456789abcdef0123456789abcdef; session=".eJw.x"; a="b\\"c"',
    "a=1; a=2;b=;  c = 3 ;=d; e",  # repeated names, empty values, stray separators
    "name=\xe4\xb8\xad",  # UTF-8 bytes as WSGI hands them over, in latin-1
]


@pytest.mark.parametrize("header", HEADERS)
def test_cookies_are_werkzeugs(header):
    environ = EnvironBuilder("/", headers={"User-Agent": "x", "Accept": "*/*"}).get_environ()
    if header is not None:
        environ["HTTP_COOKIE"] = header
    ours, werkzeugs = Request(environ).cookies, FlaskRequest(environ).cookies
    assert list(ours.items(multi=True)) == list(werkzeugs.items(multi=True))
    assert type(ours) is type(werkzeugs)


def test_cookies_cost_no_walk_over_the_headers(app):
    assert app.request_class is Request
    headers = {f"X-Header-{n}": "v" for n in range(20)}
    environ = EnvironBuilder("/", headers={**headers, "Cookie": "lang=en"}).get_environ()
    assert (
        python_calls(lambda: Request(environ).cookies)
        < python_calls(lambda: FlaskRequest(environ).cookies) - 20
    )
