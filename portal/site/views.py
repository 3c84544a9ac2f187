"""The home page and the language and text-size switches (the health checks are in portal/ops)."""

from __future__ import annotations

from flask import Blueprint, current_app, has_request_context, redirect, render_template, request

from portal.accounts.views import _safe_next
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
def set_language():
    lang = request.form.get("lang", "")
    response = redirect(_safe_next(request.form.get("next")))
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.post("/text-size")
def set_text_size():
    """Switch larger text (适老化) on or off for this browser, then go back to the page it was asked from."""
    response = redirect(_safe_next(request.form.get("next")))
    if request.form.get("size") == TEXT_LARGE:
        response.set_cookie(TEXT_SIZE_COOKIE, TEXT_LARGE, max_age=YEAR, samesite="Lax", httponly=True)
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE, samesite="Lax", httponly=True)
    return response


def large_text() -> bool:
    """Whether this browser asked for larger text (read by base.html for the class on <html>)."""
    return has_request_context() and request.cookies.get(TEXT_SIZE_COOKIE) == TEXT_LARGE


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(large_text=large_text)


def select_locale() -> str:
    """Chinese first; English when the visitor chose it."""
    lang = request.cookies.get(LANGUAGE_COOKIE) if has_request_context() else None  # CLI: the default
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]
