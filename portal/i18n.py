"""Languages: Chinese by default, English on request."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_decimal, get_locale, get_timezone, gettext

from portal.extensions import babel


def init_babel(app: Flask) -> None:
    from portal import names
    from portal.site.views import select_locale

    babel.init_app(app, locale_selector=select_locale)
    names.init_app(app)
    app.jinja_env.globals.update(
        current_locale=lambda: "zh_CN" if get_locale().language == "zh" else str(get_locale())
    )
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["human_size"] = human_size


def local_date(value: datetime) -> str:
    """Return the day of `value` where the portal is (2026-11-26), as |dateformat("yyyy-MM-dd")
    would, at a tenth of the cost: pages list many dates."""
    return value.astimezone(get_timezone()).strftime("%Y-%m-%d")


_SIZE_UNITS = (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


def human_size(size: int | None) -> str:
    """Return a file size for readers in the page's language: "367 字节" / "367 bytes", "1.5 KB",
    "12.3 MB" (units of 1,024, one decimal); a dash when unknown."""
    if size is None or size < 0:
        return "—"
    if size == 1:
        return gettext("1 byte")
    for unit, factor in _SIZE_UNITS:
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.0')} {unit}"
    return gettext("%(count)s bytes", count=format_decimal(size, format="#,##0"))
