"""Record activity events cheaply: no reads, and for most kinds no statement in the request at all.

Views call `record` for what they know (a dataset view, a download, an API call, a
search, a sign-in); `init_app` records page views of HTML pages after each request.
Page views, dataset views, searches and API calls are written behind the request in batches
(`portal/activity/backlog.py`); downloads and sign-ins go into the request's own transaction,
because they must agree with what that request writes (the download counts, the audit row).
Anonymous visitors are told apart by a random cookie id, kept only as a salted hash;
IP addresses are kept only as salted hashes too; known bots are flagged.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy import Engine, insert

from portal.activity import backlog
from portal.activity.models import KINDS, ActivityEvent
from portal.dbtypes import utcnow
from portal.extensions import db

VISITOR_COOKIE = "vid"
IN_TRANSACTION = ("download", "sign_in")  # written with the request's own rows; the rest behind it
BACKLOG = "activity_backlog"  # the app's key in app.extensions
BOTS = re.compile(r"bot|crawl|spider|slurp|curl|wget|python-requests|httpclient|headless", re.I)


def _hash(value: str) -> str:
    salt = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


def is_bot(agent: str) -> bool:
    """Tell whether a user agent is a known crawler or HTTP library (`BOTS`), or missing."""
    return bool(BOTS.search(agent)) or not agent


def downloader(user=None) -> str:
    """Name who downloads, to count it once a day: the user (signed in, or by API token), else a
    hash of the address."""
    user = user if user is not None else current_user
    if user.is_authenticated:
        return f"user:{user.id}"
    return _hash(f"address:{request.remote_addr or ''}")


def visitor_id() -> str:
    """Return this browser's random visitor id, making one (set as a cookie after the request)."""
    vid = request.cookies.get(VISITOR_COOKIE, "")
    if not re.fullmatch(r"[0-9a-f]{32}", vid):
        vid = g.get("new_visitor_id") or secrets.token_hex(16)
        g.new_visitor_id = vid
    return vid


def _visitor_hash(kind: str) -> str:
    """API clients keep no cookies: tell them apart by address and agent, not by a new id each call."""
    if kind == "api_call" and VISITOR_COOKIE not in request.cookies:
        return _hash(f"api:{request.remote_addr}:{request.headers.get('User-Agent', '')}")
    return _hash(visitor_id())


def record(kind: str, *, dataset_id: int | None = None, resource_id: int | None = None, user=None) -> None:
    """Record one event of the current request: a download or sign-in in its transaction (the view's
    commit writes it), anything else into the backlog, written behind the request."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    user = user if user is not None else (current_user if current_user.is_authenticated else None)
    agent = request.headers.get("User-Agent", "")
    row = {
        "occurred_at": utcnow(),
        "kind": kind,
        "user_id": user.id if user else None,
        "region_id": user.region_id if user else None,
        "visitor_hash": None if user else _visitor_hash(kind),
        "dataset_id": dataset_id,
        "resource_id": resource_id,
        "path": request.path.replace("\x00", "")[:300],  # PostgreSQL keeps no NUL: it would fail the batch
        "ip_hash": _hash(request.remote_addr or ""),
        "is_bot": is_bot(agent),
    }
    if kind in IN_TRANSACTION:
        # on the Table, not the class: the ORM bulk path cost ~8 % of a plain page (issue 20)
        db.session.execute(insert(ActivityEvent.__table__).values(row))
    else:
        current_app.extensions[BACKLOG].add(row)
    g.activity_recorded = True


def _after_request(response):
    """Record a page view for a successful HTML GET that recorded nothing more specific."""
    if (
        request.method == "GET"
        and response.status_code == 200
        and response.mimetype == "text/html"
        and not g.get("activity_recorded")
        and request.endpoint not in (None, "static")
    ):
        try:
            record("page_view")
        except Exception:  # counting must never break a page
            current_app.logger.exception("could not record a page view")
    if g.get("new_visitor_id"):
        response.set_cookie(
            VISITOR_COOKIE, g.new_visitor_id, max_age=365 * 24 * 3600, httponly=True, samesite="Lax"
        )
    return response


def init_app(app: Flask) -> None:
    app.after_request(_after_request)
    with app.app_context():
        engine = db.engine
    app.extensions[BACKLOG] = backlog.Backlog(
        _writer(engine),
        batch=app.config["ACTIVITY_BATCH_SIZE"],
        interval=app.config["ACTIVITY_FLUSH_MS"] / 1000,
        capacity=app.config["ACTIVITY_BACKLOG_MAX"],
    )


def _writer(engine: Engine) -> backlog.Writer:
    """Insert a batch of events in one statement and commit it, on a connection of its own."""
    table = ActivityEvent.__table__

    def write(rows: list[dict]) -> None:
        with engine.begin() as connection:
            connection.execute(insert(table), rows)

    return write
