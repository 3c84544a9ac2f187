"""Logs as JSON lines, each with the node and the request id, and the request id on every answer.

The id comes from the proxy (nginx sets X-Request-ID to its $request_id, see deploy/) or is made here,
and goes back in the answer's X-Request-ID header (added by portal/headers.py with the security
headers), so one id follows a request through nginx's access log, the app's log lines and the client's
report.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.globals import _cv_app, _cv_request
from flask.logging import default_handler

HEADER = "X-Request-ID"
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")  # where WSGI puts the header
_VALID = re.compile(r"[A-Za-z0-9._-]{8,64}\Z")


class RequestContext(logging.Filter):
    """Give every record the node's name and the current request's id ("-" outside a request)."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "node": getattr(record, "node", ""),
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


# New ids are 128 random bits from a generator seeded from the OS once per process (again in a forked
# child, which would otherwise repeat its parent's), not a getrandom system call per request: an id only
# ties a request's log lines together, so it must be unique across processes and nodes, not unguessable.
# getrandbits runs in C under the GIL: threads never draw the same bits.
_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def request_id(environ: dict | None = None) -> str:
    """The request's id: the proxy's when it looks like one, else a new one (32 random hex digits, made
    and read without uuid4's and the header map's dozen calls per request, nor a system call: issue 20)."""
    offered = (request.environ if environ is None else environ).get(_ENVIRON_KEY, "")
    return offered if _VALID.match(offered) else f"{_ids.getrandbits(128):032x}"


def init_app(app: Flask) -> None:
    node = app.config.get("NODE_NAME") or socket.gethostname()
    app.config["NODE_NAME"] = node
    if not any(isinstance(f, RequestContext) for f in default_handler.filters):
        default_handler.addFilter(RequestContext(node))
    if app.config.get("LOG_JSON"):
        default_handler.setFormatter(JsonLines())
    if app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)

    @app.before_request
    def _take_request_id() -> None:
        # Flask's context variables rather than its proxies: three calls at each use (issue 20); the
        # answer's header is portal/headers.py's, in its one pass over the response's headers
        # set in g's dict: its __setattr__ is a call more (issue 20)
        _cv_app.get().g.__dict__["request_id"] = request_id(_cv_request.get().request.environ)
