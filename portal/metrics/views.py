"""The public statistics page and the methodology page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale

from portal import clock
from portal.catalogue import quality
from portal.dbtypes import utcnow
from portal.feedback import figures
from portal.metrics import dashboard, indicators

bp = Blueprint("metrics", __name__, url_prefix="/stats")

FIRST_YEAR, LAST_YEAR = 2000, 2200


def requested_year() -> int:
    """Return the `year` asked for, or the current one when it is absent or unlikely."""
    year = request.args.get("year", type=int)
    return year if year is not None and FIRST_YEAR <= year <= LAST_YEAR else clock.day_of(utcnow()).year


def requested_sort(allowed: tuple[str, ...], default: str) -> tuple[str, bool]:
    """Return (sort key, descending) from `sort` and `order`; unknown keys fall back to `default`.

    Figures sort highest first unless `order=asc`; the default key (seed order) the other way round.
    """
    key = request.args.get("sort", default)
    key = key if key in allowed else default
    order = request.args.get("order", "")
    return key, order == "desc" if order in ("asc", "desc") else key != default


def is_english() -> bool:
    return get_locale().language == "en"


@bp.get("/")
def index():
    sort, descending = requested_sort(indicators.SORTABLE, "")
    stats = dashboard.statistics(
        requested_year(), now=utcnow(), sort=sort, descending=descending, english=is_english()
    )
    feedback = figures.summary(now=utcnow(), year=stats.report.year)
    return render_template("metrics/index.html", stats=stats, feedback=feedback)


@bp.get("/methodology")
def methodology():
    retention_days = int(current_app.config.get("EVENT_RETENTION_DAYS", 400))
    page = dashboard.methodology(requested_year(), now=utcnow(), retention_days=retention_days)
    fields = quality.COMPLETENESS_FIELDS
    return render_template("metrics/methodology.html", page=page, completeness_fields=fields)
