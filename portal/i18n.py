"""Languages: Chinese by default, English on request."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from portal.extensions import babel


def init_babel(app: Flask) -> None:
    from portal.site.views import select_locale

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        current_locale=lambda: "zh_CN" if get_locale().language == "zh" else str(get_locale())
    )
