"""The statistics in the JSON API: `/api/v1/metrics/counties?year=YYYY`.

The figures are the statistics page's (`indicators.report`), for the city first and then each
county. Missing figures are null, never 0. Callers are limited and counted as on the rest of the
API (anonymous by IP address, developers by token). Messages are in English.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from portal import clock, inputs
from portal.api import auth
from portal.dbtypes import utcnow
from portal.extensions import csrf, db
from portal.metrics import events, indicators

bp = Blueprint("metrics_api", __name__, url_prefix="/api/v1/metrics")
csrf.exempt(bp)
auth.rate_limit(bp)

FIRST_YEAR, LAST_YEAR = 2000, 2200


def error(status: int, message: str):
    return {"error": {"code": status, "message": message}}, status


@bp.before_request
def refuse_invalid_token():
    if auth.has_invalid_token():
        body, status = error(401, "The API token is unknown, revoked, or its account is deactivated.")
        return body, status, {"WWW-Authenticate": 'Bearer realm="api"'}
    return None


@bp.after_request
def record_call(response):
    """Count the call as an API call, as the rest of the API does."""
    if response.status_code < 500 and response.status_code != 429:
        try:
            events.record("api_call", user=auth.user())
            db.session.commit()
        except Exception:  # counting must never break an answer
            db.session.rollback()
            current_app.logger.exception("could not record an api_call event")
    return response


@bp.get("/counties")
def counties():
    raw = request.args.get("year")
    try:  # the shared reader, strict as the document's integer: no blank, spaces or other digits
        year = inputs.optional_number(
            raw, clock.day_of(utcnow()).year, strict=True, minimum=FIRST_YEAR, maximum=LAST_YEAR
        )
    except inputs.BadInput:
        return error(
            400, f"year must be a year from {FIRST_YEAR} to {LAST_YEAR}, such as 2026; not {raw[:20]!r}."
        )
    report = indicators.report(year, now=utcnow())
    items = [figures_json(f) for f in report.regions]
    return {
        "year": year,
        "catalogue_as_of": report.catalogue_taken_at.isoformat() if report.catalogue_taken_at else None,
        "activity_days": report.activity_days,
        "methodology": url_for("metrics.methodology", year=year, _external=True),
        "items": items,
        "page": 1,
        "per_page": len(items),
        "total": len(items),
    }


def figures_json(f: indicators.Figures) -> dict:
    """Serialise one region's figures; decimals become JSON numbers as exact as the page shows them."""
    return {
        "code": f.code,
        "name": f.name,
        "name_en": f.name_en,
        "level": "city" if f.is_city else "county",
        "datasets": f.datasets,
        "volume": f.volume,
        "population": f.population,
        "population_year": f.population_year,
        "per_capita_volume": _number(f.per_capita_volume),
        "downloads": f.downloads,
        "api_calls": f.api_calls,
        "dau": _number(f.dau),
        "mau": _number(f.mau),
        "applications_approved": f.applications_approved,
    }


def _number(value):
    return None if value is None else float(value)
