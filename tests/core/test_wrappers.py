"""The app's request and response classes (portal/wrappers.py): Werkzeug's cookies, read from the environ at
once; Werkzeug's headers to send, without a copy when none needs fixing."""

from __future__ import annotations

import pytest
from calls import python_calls
from flask import Request as FlaskRequest
from flask import Response as FlaskResponse
from werkzeug.test import EnvironBuilder

from portal.wrappers import Request, Response

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
    assert isinstance(ours, type(werkzeugs))  # read-only, as Werkzeug's
    for name in ("lang", "a", "b", "missing"):
        for default, convert in ((None, None), ("-", None), (-1, int)):
            assert ours.get(name, default, convert) == werkzeugs.get(name, default, convert), name
        assert ours.getlist(name) == werkzeugs.getlist(name)


def test_a_cookie_not_sent_is_missing_without_an_exception_built():
    environ = EnvironBuilder("/", headers={"Cookie": "vid=0123"}).get_environ()
    ours, werkzeugs = Request(environ).cookies, FlaskRequest(environ).cookies
    assert python_calls(ours.get, "lang") < python_calls(werkzeugs.get, "lang") - 2  # 2 and 5


def test_cookies_cost_no_walk_over_the_headers(app):
    assert app.request_class is Request
    headers = {f"X-Header-{n}": "v" for n in range(20)}
    environ = EnvironBuilder("/", headers={**headers, "Cookie": "lang=en"}).get_environ()
    assert (
        python_calls(lambda: Request(environ).cookies)
        < python_calls(lambda: FlaskRequest(environ).cookies) - 20
    )


def _werkzeugs_and_ours(response: Response, environ: dict) -> tuple[list, list]:
    """The WSGI header lists Werkzeug's get_wsgi_headers and ours give for `response`."""
    return (
        FlaskResponse.get_wsgi_headers(response, environ).to_wsgi_list(),
        response.get_wsgi_headers(environ).to_wsgi_list(),
    )


def _streamed() -> Response:
    return Response(iter([b"a", b"b"]), mimetype="text/plain")


def _sized() -> Response:
    response = Response("<p>页面</p>", mimetype="text/html")
    response.headers.add("Content-Security-Policy", "default-src 'self'")
    response.headers.add("Set-Cookie", "vid=0123; Path=/")
    return response


RESPONSES = {
    "a page": _sized,
    "a redirect": lambda: Response("", status=302, headers={"Location": "/datasets/?q=交通"}),
    "a content location": lambda: Response("x", headers={"Content-Location": "/数据"}),
    "no content": lambda: Response("", status=204),
    "not modified": lambda: Response("x", status=304, headers={"ETag": '"a"', "Content-Type": "text/x"}),
    "a stream": _streamed,
    "a length to compute": lambda: Response([b"ab", b"cd"]),
    "lowercase names": lambda: Response("x", status=301, headers={"location": "/a"}),
}


@pytest.mark.parametrize("name", RESPONSES)
def test_the_headers_sent_are_werkzeugs(name):
    environ = EnvironBuilder("/datasets/", base_url="http://data.example.cn/").get_environ()
    werkzeugs, ours = _werkzeugs_and_ours(RESPONSES[name](), environ)
    assert ours == werkzeugs


def test_a_page_sends_its_headers_without_copying_them(app):
    assert app.response_class is Response
    environ = EnvironBuilder("/").get_environ()
    response = _sized()
    assert response.get_wsgi_headers(environ) is response.headers
    werkzeugs = python_calls(FlaskResponse.get_wsgi_headers, response, environ)  # about 40: the copy
    assert python_calls(response.get_wsgi_headers, environ) < werkzeugs - 20


MADE = {
    "nothing given": {},
    "a body": {"response": "<p>x</p>"},
    "a status": {"response": "x", "status": 404},
    "a mimetype": {"response": "{}", "mimetype": "application/json"},
    "a content type": {"response": "x", "content_type": "text/csv"},
    "headers with a type": {"response": "x", "headers": {"Content-Type": "text/plain"}},
    "headers without one": {"response": "x", "headers": [("X-A", "1")]},
}


@pytest.mark.parametrize("name", MADE)
def test_a_response_is_made_as_werkzeugs(name):
    ours, werkzeugs = Response(**MADE[name]), FlaskResponse(**MADE[name])
    assert list(ours.headers) == list(werkzeugs.headers)
    assert (ours.status, ours.get_data()) == (werkzeugs.status, werkzeugs.get_data())


def test_a_page_response_takes_its_type_without_a_lookup():
    werkzeugs = python_calls(FlaskResponse, "<p>x</p>")  # a KeyError built, the charset worked out
    assert python_calls(Response, "<p>x</p>") < werkzeugs - 4
