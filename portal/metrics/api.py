"""The statistics in the JSON API: `/api/v1/metrics/counties?year=YYYY`.

The figures are the statistics page's (`indicators.report`), for the city first and then each
county. Missing figures are null, never 0. Nested under /api/v1 (portal/api/v1.py), whose hooks limit
and count callers as on the rest of the API. Messages are in English.
"""

from __future__ import annotations

from flask import Blueprint, request, url_for

from portal import clock, inputs
from portal.api import openapi
from portal.api.openapi import INTEGER, STRING, TIME, URL, nullable, obj, query_parameter, ref, responses
from portal.api.v1 import ApiError
from portal.dbtypes import utcnow
from portal.metrics import indicators

bp = Blueprint("metrics", __name__, url_prefix="/metrics")  # nested under /api/v1

FIRST_YEAR, LAST_YEAR = 2000, 2200


_COUNT = nullable({"type": "integer", "minimum": 0})
_RATE = nullable({"type": "number", "minimum": 0})
openapi.schemas(
    {
        "RegionFigures": obj(
            {
                "code": STRING,
                "name": STRING,
                "name_en": STRING,
                "level": {"type": "string", "enum": ["city", "county"]},
                "datasets": _COUNT,
                "volume": {**_COUNT, "description": "数据容量（记录数 × 字段数）"},
                "population": _COUNT,
                "population_year": {
                    **nullable({"type": "integer"}),
                    "description": "所用人口数的年份：当年无数据时取此前最近一年",
                },
                "per_capita_volume": {**_RATE, "description": "人均开放数据容量"},
                "downloads": _COUNT,
                "api_calls": _COUNT,
                "dau": {**_RATE, "description": "日均活跃用户"},
                "mau": {**_RATE, "description": "月均活跃用户"},
                "applications_approved": _COUNT,
                "authorised_grants": {**_COUNT, "description": "授权数（申请人 × 有条件开放数据集）"},
                "authorised_volume": {**_COUNT, "description": "授权数据量：所授权数据集的数据容量之和"},
            }
        ),
        "RegionFiguresList": obj(
            {
                "year": INTEGER,
                "catalogue_as_of": nullable(TIME),
                "activity_days": {"type": "integer", "minimum": 0},
                "methodology": URL,
                "items": {"type": "array", "items": ref("RegionFigures")},
                "page": INTEGER,
                "per_page": INTEGER,
                "total": INTEGER,
            }
        ),
    }
)


@bp.get("/counties")
@openapi.operation(
    "listRegionFigures",
    "全市及各县（市、区）的年度指标：数据集、数据容量、人均容量、下载、调用、活跃用户、应用",
    parameters=[
        query_parameter(
            "year", "年份，默认今年", {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR}
        )
    ],
    responses=responses("RegionFiguresList"),
)
def counties():
    raw = request.args.get("year")
    try:  # the shared reader, strict as the document's integer: no blank, spaces or other digits
        year = inputs.optional_number(
            raw, clock.day_of(utcnow()).year, strict=True, minimum=FIRST_YEAR, maximum=LAST_YEAR
        )
    except inputs.BadInput:
        message = f"year must be a year from {FIRST_YEAR} to {LAST_YEAR}, such as 2026; not {raw[:20]!r}."
        raise ApiError(400, message) from None
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
        "authorised_grants": f.authorised_grants,
        "authorised_volume": f.authorised_volume,
    }


def _number(value):
    return None if value is None else float(value)
