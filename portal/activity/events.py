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
import os
import re
import time

from flask import Flask, Request, Response, current_app, request
from flask.globals import _cv_app, _cv_request
from flask_login import current_user
from sqlalchemy import Engine, insert
from sqlalchemy import exc as sa_exc
from werkzeug.http import http_date

from portal import dbtimeout
from portal.activity import backlog
from portal.activity.models import KINDS, ActivityEvent
from portal.dbtypes import utcnow
from portal.extensions import db

VISITOR_COOKIE = "vid"
VISITOR_COOKIE_AGE = 365 * 24 * 3600
_VISITOR_ID = re.compile(r"[0-9a-f]{32}")
IN_TRANSACTION = ("download", "sign_in")  # written with the request's own rows; the rest behind it
BACKLOG = "activity_backlog"  # the app's key in app.extensions
BOTS = re.compile(r"bot|crawl|spider|slurp|curl|wget|python-requests|httpclient|headless", re.I)


def _hash(value: str, salt: str | None = None) -> str:
    salt = current_app.config["SECRET_KEY"] if salt is None else salt
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()


_ADDRESS_HASHES: dict[tuple[str, str], str] = {}  # (salt, address) -> its hash, for recent addresses
MAX_ADDRESS_HASHES = 10_000  # then the store starts again


def _address_hash(address: str, salt: str) -> str:
    """`_hash(address, salt)`, kept for the addresses seen lately: a visitor's pages come from one
    address, and a proxy's many visitors from a few (a hash was five calls a page view; issue 20)."""
    key = (salt, address)
    found = _ADDRESS_HASHES.get(key)
    if found is None:
        found = _hash(address, salt)
        if len(_ADDRESS_HASHES) >= MAX_ADDRESS_HASHES:
            _ADDRESS_HASHES.clear()
        _ADDRESS_HASHES[key] = found
    return found


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


_RANDOM_BLOCK = 4096  # bytes of the system's random source read at once: 128 visitor ids
_fresh_ids: list[str] = []  # ids made and not handed out yet; forgotten in a forked child


def _new_visitor_id() -> str:
    """32 random hex digits from the operating system's random source (what `secrets.token_hex(16)` gives),
    read a block at a time: a system call per page view of every visitor without the cookie (wrk, crawlers,
    first visits) cost the minimal route ~4 % (issue 20). list.pop and list.extend are atomic, so threads
    never share an id; a forked worker starts with none of its parent's."""
    try:
        return _fresh_ids.pop()
    except IndexError:
        block = os.urandom(_RANDOM_BLOCK).hex()
        _fresh_ids.extend([block[n : n + 32] for n in range(0, len(block), 32)])
        return _fresh_ids.pop()


os.register_at_fork(after_in_child=_fresh_ids.clear)


def visitor_id(req: Request, state) -> str:
    """Return this browser's random visitor id, making one (kept on the request's `g` as `state`, set as
    a cookie after the request). `g`'s attributes are read and set in its own dict: its getattr of a
    missing name builds an AttributeError, and its __getattr__ and __setattr__ are a call each (issue 20)."""
    cookies = req.cookies
    vid = cookies[VISITOR_COOKIE] if VISITOR_COOKIE in cookies else ""
    if not _VISITOR_ID.fullmatch(vid):
        flags = state.__dict__
        vid = flags.get("new_visitor_id") or _new_visitor_id()
        flags["new_visitor_id"] = vid
    return vid


def _visitor_hash(kind: str, req: Request, state, salt: str) -> str:
    """API clients keep no cookies: tell them apart by address and agent, not by a new id each call."""
    if kind == "api_call" and VISITOR_COOKIE not in req.cookies:
        return _hash(f"api:{req.remote_addr}:{req.environ.get('HTTP_USER_AGENT', '')}", salt)
    return _hash(visitor_id(req, state), salt)


def record(kind: str, *, dataset_id: int | None = None, resource_id: int | None = None, user=None) -> None:
    """Record one event of the current request: a download or sign-in in its transaction (the view's
    commit writes it), anything else into the backlog, written behind the request."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    # the app, the request, its g and the user read from their context variables, not through Flask's
    # proxies (three calls at each use; issue 20)
    context = _cv_app.get()
    app, state, req = context.app, context.g, _cv_request.get().request
    if user is None:
        visitor = vars(state).get("_login_user")  # Flask-Login's current_user, once it looked
        if visitor is None:
            visitor = current_user._get_current_object()
        user = visitor if visitor.is_authenticated else None
    salt = app.config["SECRET_KEY"]
    agent = req.environ.get("HTTP_USER_AGENT", "")  # req.headers.get("User-Agent", ""), in one call
    row = {
        "occurred_at": utcnow(),
        "kind": kind,
        "user_id": user.id if user else None,
        "region_id": user.region_id if user else None,
        "visitor_hash": None if user else _visitor_hash(kind, req, state, salt),
        "dataset_id": dataset_id,
        "resource_id": resource_id,
        "path": req.path.replace("\x00", "")[:300],  # PostgreSQL keeps no NUL: it would fail the batch
        "ip_hash": _address_hash(req.remote_addr or "", salt),
        "is_bot": is_bot(agent),
    }
    if kind in IN_TRANSACTION:
        # on the Table, not the class: the ORM bulk path cost ~8 % of a plain page (issue 20)
        db.session.execute(insert(ActivityEvent.__table__).values(row))
    else:
        app.extensions[BACKLOG].add(row)
    state.__dict__["activity_recorded"] = True  # as visitor_id sets g's attributes


def _after_request(response: Response) -> Response:
    """Record a page view for a successful HTML GET that recorded nothing more specific."""
    req, flags = _cv_request.get().request, _cv_app.get().g.__dict__  # g's, as visitor_id reads them
    if (
        req.method == "GET"
        and response.status_code == 200
        and response.mimetype == "text/html"
        and not flags.get("activity_recorded", False)
        and req.endpoint not in (None, "static")
    ):
        try:
            record("page_view")
        except Exception:  # counting must never break a page
            current_app.logger.exception("could not record a page view")
    vid = flags.get("new_visitor_id")
    if vid:
        # appended as headers.add appends it, without its newline check: the id is 32 hex digits
        response.headers._list.append(("Set-Cookie", visitor_cookie(vid, time.time())))
    return response


_expiry: tuple[int, str] = (0, "")  # (second, the Expires of a cookie set in it), one second kept


def visitor_cookie(vid: str, now: float) -> str:
    """The Set-Cookie value of a new visitor id, as `response.set_cookie(VISITOR_COOKIE, vid,
    max_age=VISITOR_COOKIE_AGE, httponly=True, samesite="Lax")` writes it, without its ~50 calls of
    quoting and date formatting per page view of a browser without the cookie (issue 20)."""
    global _expiry
    second, expires = _expiry  # one read: another thread may replace it
    if second != int(now):
        second = int(now)
        expires = http_date(second + VISITOR_COOKIE_AGE)
        _expiry = (second, expires)
    attributes = f"Expires={expires}; Max-Age={VISITOR_COOKIE_AGE}; HttpOnly; Path=/; SameSite=Lax"
    return f"{VISITOR_COOKIE}={vid}; {attributes}"


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


COLUMNS = (
    "occurred_at",
    "kind",
    "user_id",
    "region_id",
    "visitor_hash",
    "dataset_id",
    "resource_id",
    "path",
    "ip_hash",
    "is_bot",
)  # what `record` gives every event


def _writer(engine: Engine) -> backlog.Writer:
    """Insert a batch of events and commit it, on a pooled connection of its own.

    A batch of events as `record` makes them goes to the driver's executemany at once, each value
    through its column type's bind processor only where the type has one: SQLAlchemy's executemany
    processed the rows parameter by parameter, 15-30 µs of the serving process's CPU per event (issue
    20). Rows of other shapes (tests leaving columns to their defaults) take SQLAlchemy's insert.
    """
    table = ActivityEvent.__table__
    dialect = engine.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(COLUMNS), for_executemany=True)
    positional = compiled.positional  # SQLite's "?" in the statement's order, or psycopg's %(name)s
    names = tuple(compiled.positiontup) if positional else COLUMNS
    processors = [
        (at, processor)
        for at, name in enumerate(names)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]

    def parameters(rows: list[dict]) -> list:
        """The batch as the driver takes it: lists in the statement's order, or dicts by name."""
        batch = []
        for row in rows:
            values = [row[name] for name in names]
            for at, processor in processors:
                values[at] = processor(values[at])
            batch.append(values if positional else dict(zip(names, values, strict=True)))
        return batch

    def write(rows: list[dict]) -> None:
        try:
            batch = parameters(rows)
        except KeyError:  # a row without some column: SQLAlchemy fills in the defaults
            with engine.begin() as connection:
                connection.execute(insert(table), rows)
            return
        except Exception as exc:  # a value its column's type refuses, as SQLAlchemy would report it
            raise sa_exc.StatementError(str(exc), compiled.string, None, exc) from exc
        _execute_many(engine, compiled.string, batch)

    return write


def _execute_many(engine: Engine, statement: str, batch: list) -> None:
    """Run `statement` for each parameter set of `batch` in one transaction of a pooled DBAPI
    connection; the driver's errors are raised as SQLAlchemy's (IntegrityError, OperationalError...),
    which the backlog tells apart."""
    connection = engine.raw_connection()
    try:
        dbtimeout.lift_sqlite_deadline(connection)
        cursor = connection.cursor()
        try:
            cursor.executemany(statement, batch)
        finally:
            cursor.close()
        connection.commit()
    except engine.dialect.loaded_dbapi.Error as exc:
        lost = _roll_back(engine, connection, exc)
        raise sa_exc.DBAPIError.instance(
            statement,
            None,
            exc,
            engine.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=engine.dialect,
        ) from exc
    finally:
        connection.close()  # back to the pool


def _roll_back(engine: Engine, connection, exc: Exception) -> bool:
    """Roll back after the driver's error `exc`; return whether the connection is lost, invalidated then
    (as SQLAlchemy's own execution does), so the pool never hands it out again and the error the backlog
    sees is the driver's first one, not the rollback's."""
    lost = engine.dialect.is_disconnect(exc, connection.dbapi_connection, None)
    if not lost:
        try:
            connection.rollback()
        except engine.dialect.loaded_dbapi.Error:
            lost = True
    if lost:
        connection.invalidate(exc)
    return lost
