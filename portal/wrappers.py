"""The app's request and response classes: Flask's, with their per-request work cut (issue 20)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from flask import Request as FlaskRequest
from flask import Response as FlaskResponse
from flask.helpers import _split_blueprint_path
from werkzeug.datastructures import Headers, ImmutableMultiDict
from werkzeug.sansio.http import parse_cookie
from werkzeug.utils import cached_property, get_content_type


class Cookies(ImmutableMultiDict):
    """Werkzeug's cookie dict, whose `get` of a cookie the browser did not send returns the default at
    once: Werkzeug's builds a BadRequestKeyError to catch it (two on every page view of a browser
    without the language and text-size cookies)."""

    def get(self, key, default=None, type=None):
        if key not in self:
            return default
        return super().get(key, default, type)


class Request(FlaskRequest):
    dict_storage_class = Cookies  # what Werkzeug reads cookies into (and nothing else)

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """Werkzeug's cookies, from the environ's one Cookie header: Werkzeug finds it by walking every
        header of the request (about forty Python calls, on every page view, cookies or none)."""
        return parse_cookie(self.environ.get("HTTP_COOKIE", ""), cls=self.dict_storage_class)

    @property
    def blueprint(self) -> str | None:
        """Flask's: the name of the blueprint whose view serves the request, read from its rule at once
        (Flask's asks its `endpoint` property first: a call more, three times a page view; issue 20)."""
        rule = self.url_rule
        endpoint = rule.endpoint if rule is not None else None
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """Flask's: the blueprint's name and its parents', innermost first, in one call (Flask's took
        three, four times a page view)."""
        rule = self.url_rule
        endpoint = rule.endpoint if rule is not None else None
        if endpoint is None or "." not in endpoint:
            return []
        return _split_blueprint_path(endpoint.rpartition(".")[0])


def header_names(headers: Headers) -> set[str]:
    """The names of `headers`, lowercased, in one pass: `name in headers` looks the name up case-
    insensitively and builds a KeyError when it is missing (about a dozen calls each time)."""
    return {name.lower() for name, _ in headers}


@cache
def full_content_type(mimetype: str) -> str:
    """The Content-Type of `mimetype` as Werkzeug sends it (a text type with its UTF-8 charset), worked
    out once per type."""
    return get_content_type(mimetype, "utf-8")


class _Body(list):
    """A response's body of bytes as the server is handed it: a list it iterates in C, closed as
    Werkzeug's ClosingIterator closes it (its `close` is set to the response's)."""

    __slots__ = ("close",)


class Response(FlaskResponse):
    def __init__(self, response=None, status=None, headers=None, mimetype=None, content_type=None,
                 direct_passthrough=False):  # fmt: skip
        """Werkzeug's response; one made without headers or a type takes the default type's full
        Content-Type at once, where Werkzeug looks for a Content-Type in its new empty headers (building
        a KeyError to catch) and works the charset out again (about ten calls on every page)."""
        if headers is None and mimetype is None and content_type is None:
            content_type = full_content_type(self.default_mimetype)
        super().__init__(response, status, headers, mimetype, content_type, direct_passthrough)

    def get_wsgi_headers(self, environ) -> Headers:
        """Werkzeug's headers to send, which it copies, checking every value again (about 70 calls for a
        page's nine headers), so as to fix the few a response may need fixed. A response needing none of
        its fixes (no Location or Content-Location to make absolute, a status that has a body, its
        Content-Length set or not to be computed) sends its own headers: Werkzeug's only caller,
        get_wsgi_response, reads them once into the WSGI list."""
        headers = self.headers
        names = header_names(headers)
        status = self.status_code
        if (
            "location" in names
            or "content-location" in names
            or status < 200
            or status in (204, 304)
            or ("content-length" not in names and self.automatically_set_content_length and self.is_sequence)
        ):
            return super().get_wsgi_headers(environ)
        return headers

    def get_app_iter(self, environ) -> Iterable[bytes]:
        """Werkzeug's body to send; a body of one bytes chunk (what `set_data` leaves: every page) goes
        out as a list, where Werkzeug wraps a generator encoding each chunk in a ClosingIterator whose
        Python `__next__` the server calls per chunk and once more to stop (about ten calls a page)."""
        chunks = self.response
        status = self.status_code
        if (
            type(chunks) is list
            and len(chunks) == 1
            and type(chunks[0]) is bytes
            and not self.direct_passthrough
            and status >= 200
            and status not in (204, 304)
            and environ["REQUEST_METHOD"] != "HEAD"
        ):
            body = _Body(chunks)
            body.close = self.close
            return body
        return super().get_app_iter(environ)
