"""The fake CKAN over HTTP: the WSGI app (`FakeCkan`) with its injected faults, and `serve` on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .actions import Actions
from .errors import ActionError
from .model import Catalogue

JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


_HTML_ERROR = (
    "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center><hr><center>nginx</center>"
    "</body></html>"
)
_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class FakeCkan(Actions, Catalogue):
    """An in-memory CKAN catalogue answering the Action API as a WSGI app; see `serve`.

    Mutate it with the methods below (thread-safe, also while served); inspect `calls`, the
    `(action, params)` of every request received, and `server_errors`, exceptions raised inside the fake.
    """

    def __init__(self, *, site_title: str = "嘉兴市公共数据开放平台") -> None:
        super().__init__()
        self.site_title = site_title
        self.calls: list[tuple[str, dict | None]] = []
        self.server_errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._faults: dict[str, list[tuple[str, Any]]] = {}

    # -- fault injection -----------------------------------------------------------------------

    def fail_next(self, action: str, status: int = 500, times: int = 1, *, body: str = "html") -> None:
        """Answer the next `times` calls of `action` ("*": any) with `status`: an HTML page as a proxy
        gives (`body="html"`) or CKAN's own Internal Server Error envelope (`body="json"`)."""
        self._add_fault(action, ("fail", (status, body)), times)

    def hang_next(self, action: str, seconds: float, times: int = 1) -> None:
        """Delay the next `times` answers of `action` ("*": any) by `seconds`; stopping cuts it short."""
        self._add_fault(action, ("hang", seconds), times)

    def calls_to(self, action: str) -> list[dict | None]:
        """Return the params of each call received for `action`, oldest first."""
        return [params for name, params in list(self.calls) if name == action]

    def _add_fault(self, action: str, fault: tuple[str, Any], times: int) -> None:
        with self._lock:
            self._faults.setdefault(action, []).extend([fault] * times)

    def _take_fault(self, action: str) -> tuple[str, Any] | None:
        with self._lock:
            for key in (action, "*"):
                if self._faults.get(key):
                    return self._faults[key].pop(0)
        return None

    # -- HTTP ----------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        match = re.fullmatch(r"/api(?:/3)?/action/([^/]+)", request.path)
        if not match:
            return Response(_HTML_ERROR.format("404 Not Found"), 404, content_type=HTML_TYPE)
        if request.method not in ("GET", "POST"):
            return Response(_HTML_ERROR.format("405 Method Not Allowed"), 405, content_type=HTML_TYPE)
        action = match.group(1)
        try:
            params, problem = _request_data(request), None
        except ValueError as exc:
            params, problem = None, str(exc)
        self.calls.append((action, params))
        fault = self._take_fault(action)
        if fault and fault[0] == "hang":
            self._stopping.wait(fault[1])
        elif fault:
            return _failure(*fault[1], self._help(request, action))
        handler = getattr(self, f"_action_{action}", None)
        if handler is None:
            return _bad_request(f"Action name not known: {action}")
        if problem is not None:
            return _bad_request(f"JSON Error: {problem}")
        envelope = b'{"help": ' + json.dumps(self._help(request, action)).encode()
        try:
            with self._lock:
                result = handler(params, request)
        except ActionError as exc:
            if isinstance(exc.error, str):
                return _bad_request(exc.error)
            body = envelope + b', "error": ' + json.dumps(exc.error).encode() + b', "success": false}'
            return Response(body, exc.status, content_type=JSON_TYPE)
        except Exception as exc:  # CKAN answers any other exception with a 500 envelope
            self.server_errors.append(exc)
            error = {"__type": "Internal Server Error", "message": "Internal Server Error"}
            body = envelope + b', "error": ' + json.dumps(error).encode() + b', "success": false}'
            return Response(body, 500, content_type=JSON_TYPE)
        encoded = result if isinstance(result, bytes) else json.dumps(result).encode()
        return Response(
            envelope + b', "success": true, "result": ' + encoded + b"}", 200, content_type=JSON_TYPE
        )

    @staticmethod
    def _help(request: Request, action: str) -> str:
        return f"{request.host_url.rstrip('/')}/api/3/action/help_show?name={action}"


# -- request data and small validators, as CKAN's views/api.py and navl validators do -----------


def _request_data(request: Request) -> dict:
    def mixed(multi: Any) -> dict:
        return {k: v[0] if len(v) == 1 else v for k, v in multi.to_dict(flat=False).items()}

    if request.method == "POST" and request.form:
        values = list(request.form.values())
        if len(values) == 1 and values[0] in ("1", ""):
            data = json.loads(next(iter(request.form.keys())))
        else:
            data = mixed(request.form)
    elif request.args:
        data = mixed(request.args)
    elif request.get_data() and request.mimetype != "multipart/form-data":
        data = json.loads(request.get_data())
    else:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"Request data JSON decoded to {data!r} but it needs to be a dictionary.")
    return data


def _bad_request(message: str) -> Response:
    return Response(json.dumps(f"Bad request - {message}"), 400, content_type=JSON_TYPE)


def _failure(status: int, body: str, help_url: str) -> Response:
    text = f"{status} {_STATUS_TEXT.get(status, 'Error')}"
    if body == "json":
        error = {"__type": "Internal Server Error", "message": "Internal Server Error"}
        payload = json.dumps({"help": help_url, "error": error, "success": False})
        return Response(payload, status, content_type=JSON_TYPE)
    return Response(_HTML_ERROR.format(text), status, content_type=HTML_TYPE)


# -- serving -------------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        """Keep request lines out of the test output."""


@contextlib.contextmanager
def serve(fake: Callable) -> Iterator[str]:
    """Serve `fake` (or any WSGI app) on 127.0.0.1, a free port, one thread per request; yield its URL."""
    stopping = getattr(fake, "_stopping", None)  # a FakeCkan's, to wake handlers held by hang_next
    server = make_server("127.0.0.1", 0, fake, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        daemon=True,
        name=f"fake-ckan-{server.server_port}",
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        if stopping is not None:
            stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        if stopping is not None:
            stopping.clear()
