"""The home page and the language and text-size switches (the health checks are in portal/ops)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask.globals import _cv_request
from flask_login import current_user

from portal.accounts import actions
from portal.accounts.views import _safe_next
from portal.extensions import csrf, db
from portal.site import headline

bp = Blueprint("site", __name__)

LANGUAGE_COOKIE = "lang"
TEXT_SIZE_COOKIE = "text_size"
TEXT_LARGE = "large"
YEAR = 365 * 24 * 3600  # seconds the switches' cookies are kept


@bp.get("/")
def home():
    return render_template("site/home.html", figures=headline.figures(), figure_labels=headline.LABELS)


@bp.post("/language")
@csrf.exempt
def set_language():
    """Switch the interface language for this browser, then go back to the page it was asked from."""
    _check_origin()
    lang = request.form.get("lang", "")
    response = redirect(_safe_next(request.form.get("next")))
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        if current_user.is_authenticated:  # their emails follow too (accounts/mailing.py)
            actions.remember_language(current_user, lang, current_app.config["LANGUAGES"])
            db.session.commit()
    return response


@bp.post("/text-size")
@csrf.exempt
def set_text_size():
    """Switch larger text (适老化) on or off for this browser, then go back to the page it was asked from."""
    _check_origin()
    response = redirect(_safe_next(request.form.get("next")))
    if request.form.get("size") == TEXT_LARGE:
        response.set_cookie(TEXT_SIZE_COOKIE, TEXT_LARGE, max_age=YEAR, samesite="Lax", httponly=True)
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE, samesite="Lax", httponly=True)
    return response


def _check_origin() -> None:
    """Refuse a switch posted from another site: by its CSRF token for a signed-in user, by the
    browser's Sec-Fetch-Site mark for anyone.

    Anonymous visitors' switches carry no token: a token lives in the session, so every page showing
    them would set a session cookie for every visitor (issue 20), and for them the switches change
    nothing but this browser's display cookies. A signed-in user's language is saved on the account
    too, and they have a session anyway, so base.html gives them the token and it is checked here.
    """
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403)
    if current_user.is_authenticated and current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()


def large_text() -> bool:
    """Whether this browser asked for larger text (read by base.html for the class on <html>). The request
    is read from Flask's context variable: its proxies cost three calls at each use (issue 20)."""
    context = _cv_request.get(None)
    return context is not None and context.request.cookies.get(TEXT_SIZE_COOKIE) == TEXT_LARGE


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(large_text=large_text)


def select_locale() -> str:
    """Chinese first; English when the visitor chose it. The request and its app are read from Flask's
    context variable, as in `large_text` (about 15 calls fewer on every page)."""
    context = _cv_request.get(None)
    if context is None:  # the CLI, a job's mail: the default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    config = context.app.config
    lang = context.request.cookies.get(LANGUAGE_COOKIE)
    return lang if lang in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]
