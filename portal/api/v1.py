"""/api/v1 as one surface: the parent blueprint every area's JSON API is nested under.

Its hooks apply the API's policy once, to every nested area alike:
- callers: a token that is presented must be valid, else 401 (`auth`), and not suspended past a daily usage
  limit, else 403 saying why (`accounts/usage.py`); the shared budgets per address or
  token holder, in requests and in rows (`auth.rate_limit`, `costs`; a view says what it asks for with
  `charges_rows`), refused with 429;
- input hygiene: a NUL in a query or path parameter is a 400 (no database stores it);
- metering: one `api_call` activity event per answered call, with the dataset it named (`g.api_dataset_id`).
Refusals answer in the site's one JSON envelope (`errors.json_error`): a view raises `ApiError` with its
status, and a domain module's `Refusal` that reaches the surface is a 400.

An area nests its API with one line in `portal/__init__.py` (`v1.nest(<area>.api.bp)`); its blueprint's
name is its OpenAPI tag, and its views declare their operations with `openapi.operation`
(docs/adding-an-area.md). The documentation page at /api/v1/ is no API call and stays outside (`docs_views`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, current_app, request
from flask.globals import _cv_app
from sqlalchemy import Engine, event

from portal.accounts import callers
from portal.activity import events
from portal.api import auth, openapi
from portal.errors import json_error
from portal.extensions import csrf, db
from portal.refusals import Refusal

View = TypeVar("View", bound=Callable)

bp = Blueprint(openapi.SURFACE, __name__, url_prefix="/api/v1")
csrf.exempt(bp)
_nested: dict[str, Blueprint] = {}


class ApiError(Refusal):
    """A view's refusal with its HTTP status and a message for the client (in English)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def nest(*areas: Blueprint) -> Blueprint:
    """Nest each area's API blueprint under /api/v1 and return the parent to register on the app.

    Flask freezes a blueprint once an app registered it, so an area is nested once per process; the
    next app (tests build many) registers the same parent with the same areas."""
    for area in areas:
        known = _nested.get(area.name)
        if known is area:
            continue
        if known is not None:
            raise ValueError(f"another API is already nested under /api/v1 as {area.name!r}")
        csrf.exempt(area)  # Flask-WTF looks at the request's own blueprint, not its parents'
        bp.register_blueprint(area)
        _nested[area.name] = area
    return bp


def charges_rows(count: Callable[[], int]) -> Callable[[View], View]:
    """Mark the view below as asking for `count()` rows of the caller's row budget (default one);
    put it under the route decorator."""

    def mark(view: View) -> View:
        view.api_rows = count  # type: ignore[attr-defined]
        return view

    return mark


def _rows_asked() -> int:
    count = getattr(current_app.view_functions.get(request.endpoint or ""), "api_rows", None)
    return count() if count else 1


auth.rate_limit(bp, rows=_rows_asked)


@bp.errorhandler(Refusal)
def refused(exc: Refusal):
    """Answer a refusal from any nested view in the envelope: an ApiError with its status, a domain
    module's refusal (a rule said no to what the client sent) as 400."""
    return json_error(getattr(exc, "status", 400), str(exc))


@bp.before_request
def check_caller_and_parameters():
    if callers.has_invalid_token():
        message = "The API token is unknown, revoked, or its account is deactivated."
        return json_error(401, message, {"WWW-Authenticate": 'Bearer realm="api"'})
    suspended = callers.suspended_token()
    if suspended is not None:
        return json_error(403, callers.suspension_message(suspended))
    values = [v for _, v in request.args.items(multi=True)] + list((request.view_args or {}).values())
    if any("\x00" in str(v) for v in values):
        raise ApiError(400, "Parameters must not contain NUL characters.")
    return None


TO_COMMIT = "db_to_commit"  # on flask.g: the app context's session has a transaction to end by a commit


@event.listens_for(Engine, "before_cursor_execute")
def _note_commit(conn, cursor, statement, parameters, context, executemany) -> None:
    """Mark the app context (the request, whose session Flask-SQLAlchemy scopes to it) whose transaction
    `record_call` must commit on SQLite: once anything but a SELECT runs in it through the engine (an ORM
    flush, an insert on the session's connection, a PRAGMA, a SAVEPOINT). Statements run outside an app
    context (the activity backlog's writer, jobs) have no request to mark."""
    if statement[:6] != "SELECT" and statement.lstrip()[:6].upper() != "SELECT":
        found = _cv_app.get(None)
        if found is not None:
            found.g.__dict__[TO_COMMIT] = True


@bp.after_request
def record_call(response):
    """Record one api_call event per answered request (not for refusals by the rate limiter), and commit
    what the call wrote. The event is written behind the request (`activity.events`).

    On SQLite a call that wrote nothing (a read: most calls) commits nothing, which was a twelfth of a rows
    call's CPU (issue 16): its read transaction ends when the request's context does. What a call wrote is
    known from the engine's statements (`_note_commit`) and the session's pending objects: a write sent
    on the driver's own cursor, past the engine, would not be committed (no API call writes so).
    On PostgreSQL every call commits: there the rollback that ends an uncommitted transaction makes psycopg
    forget its prepared statements (DEALLOCATE ALL), and the server then plans each of a rows call's
    statements again: 0.7-1.0 ms of the server's CPU per call with a commit, 1.25-1.6 ms without."""
    if response.status_code < 500 and response.status_code != 429:
        try:
            flags = _cv_app.get().g.__dict__  # g's own, without its proxy's calls
            events.record("api_call", dataset_id=flags.get("api_dataset_id"), user=callers.user())
            session = db.session()
            if (
                flags.get(TO_COMMIT)
                or session.new
                or session.dirty
                or session.deleted
                or db.engine.dialect.name == "postgresql"
            ):
                session.commit()
        except Exception:  # counting must never break an answer
            db.session.rollback()
            current_app.logger.exception("could not record an api_call event")
    return response


@bp.get("/openapi.json")
@openapi.operation(
    "getOpenApi",
    "本文档",
    tags=["catalogue"],
    responses={
        "200": {
            "description": "OpenAPI 3 文档",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def openapi_document():
    return openapi.document(current_app)
