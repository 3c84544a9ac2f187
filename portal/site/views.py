"""The home page and the language switch (the health checks are in portal/ops)."""

from __future__ import annotations

from flask import Blueprint, current_app, has_request_context, redirect, render_template, request

from portal.accounts.views import _safe_next
from portal.site import headline

bp = Blueprint("site", __name__)

LANGUAGE_COOKIE = "lang"


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


def select_locale() -> str:
    """Chinese first; English when the visitor chose it."""
    lang = request.cookies.get(LANGUAGE_COOKIE) if has_request_context() else None  # CLI: the default
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]
