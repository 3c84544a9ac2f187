"""Error pages in the site's layout, and JSON errors under /api/."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask.globals import _cv_request, request_ctx
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from portal import dbtimeout, searchslots
from portal.extensions import db


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Check the form and try again.")),
        403: (_("Forbidden"), _("Your account may not open this page.")),
        404: (_("Page not found"), _("The page does not exist or has moved.")),
        405: (_("Method not allowed"), _("This address does not accept that kind of request.")),
        413: (_("Too large"), _("The upload is larger than the site accepts.")),
        415: (_("Unsupported content"), _("This address takes form data, not this kind of content.")),
        429: (_("Too many requests"), _("Please wait a minute before trying again.")),
        500: (_("Server error"), _("Something went wrong on our side. The office has been told.")),
        503: (_("Too busy"), _("The request took too long and was stopped. Narrow it or try again.")),
    }


def json_error(code: int, message: str, headers: dict | list | None = None) -> tuple:
    """Return the site's one JSON error answer, `{"error": {"code", "message"}}` with status `code`:
    every JSON route answers its refusals through here (the /api/v1 surface, its areas, these handlers)."""
    body = {"error": {"code": code, "message": message}}
    return (body, code, headers) if headers else (body, code)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _render(code: int, detail: str | None = None, message: str | None = None):
    title, usual = _messages().get(code, (str(code), detail or ""))
    message = message or usual
    if _wants_json():
        return json_error(code, detail or message)
    if request_ctx.url_adapter is None:  # a Host outside TRUSTED_HOSTS: the layout cannot build its links
        page = f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title><p>{escape(message)}</p>"
        return page, code
    return render_template("errors/error.html", code=code, title=title, message=message, detail=detail), code


def handle_http(exc: HTTPException):
    code = exc.code or 500
    detail = exc.description if code in (400, 429) and _wants_json() else None
    # a refusal that says why in its own words (too many searches at once) says it in every format
    message = str(exc.description) if isinstance(exc, searchslots.Busy) else None
    body, status = _render(code, detail, message)
    return body, status, exception_headers(exc)


def exception_headers(exc: HTTPException) -> list[tuple[str, str]]:
    """The headers an HTTP exception carries (Allow of a 405, Retry-After of a 429, WWW-Authenticate
    of a 401), without its Content-Type: the answer keeps them whatever body it gets."""
    return [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]


def handle_database(exc: OperationalError):
    """Answer a statement stopped by DB_STATEMENT_TIMEOUT_MS with 503; re-raise any other failure."""
    if not dbtimeout.is_timeout(exc):
        raise exc
    db.session.rollback()
    current_app.logger.warning("statement timeout on %s %s", request.method, request.full_path[:300])
    body, status = _render(503)
    return body, status, {"Retry-After": "5"}


def handle_csrf(exc: CSRFError):
    return _render(400, _("The form expired or lacks its security token. Reload the page and submit again."))


def handle_unexpected(exc: Exception):
    db.session.rollback()
    return _render(500)


NUL_REFUSED = "Parameters must not contain NUL characters."


def refuse_nul(endpoint: str | None, values: dict | None) -> None:
    """Refuse a NUL in an address's variables (a dataset name, a resource id), and in a form posted to the
    site's pages, before any view sends it to the database: no name or field has a use for one, and
    PostgreSQL rejects it in a text parameter with an error. The API checks its own parameters, to answer
    in its own shapes (the JSON envelope, CKAN's error); queries are each view's (the catalogue's search
    drops control characters from its words)."""
    if values and any("\x00" in str(v) for v in values.values()):
        raise BadRequest(NUL_REFUSED)
    # the request's method from its context variable, not through Flask's proxy (three calls; issue 20)
    if _cv_request.get().request.method == "POST" and not _wants_json() and _form_holds_nul():
        raise BadRequest(NUL_REFUSED)


def _form_holds_nul() -> bool:
    """Tell whether a posted form's names or values hold a NUL (a file's content is not looked at)."""
    return any("\x00" in name or any("\x00" in v for v in values) for name, values in request.form.lists())


def register(app: Flask) -> None:
    app.url_value_preprocessor(refuse_nul)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(OperationalError, handle_database)
