"""Data quality in the JSON API: `/api/v1/quality/departments` and `/quality/counties` (issue 17 item 4).

One row per department (`organization`: the CKAN organization's name), or per county (the city's own
departments under the city), of its published datasets: how many, how many are overdue for their declared
update frequency, how many resources failed their latest link check, the mean openness stars and the mean
metadata completeness (catalogue/quality.py defines each; the quality board at /stats/quality shows the
same figures). Nested under /api/v1.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from portal import clock
from portal.api import openapi
from portal.api.openapi import STRING, nullable, obj, responses
from portal.catalogue import quality

bp = Blueprint("quality", __name__, url_prefix="/quality")  # nested under /api/v1

_COUNT = {"type": "integer", "minimum": 0}
_FIGURES = {
    "datasets": {**_COUNT, "description": "已发布数据集数"},
    "overdue": {**_COUNT, "description": "逾期未更新的数据集数"},
    "broken_resources": {**_COUNT, "description": "最近一次链接检查失败的资源数"},
    "mean_openness_stars": nullable(
        {"type": "number", "minimum": 0, "maximum": 5, "description": "平均开放星级；无数据集时为 null"}
    ),
    "mean_completeness": nullable(
        {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "平均元数据完整度（0-1）；无数据集时为 null",
        }
    ),
}
openapi.schemas(
    {
        "DepartmentQuality": obj(
            {
                "organization": {**STRING, "description": "CKAN 组织名"},
                "title": {**STRING, "description": "部门名称"},
                **_FIGURES,
            }
        ),
        "QualityByDepartment": obj(
            {"departments": {"type": "array", "items": openapi.ref("DepartmentQuality")}}
        ),
        "CountyQuality": obj(
            {
                "code": {**STRING, "description": "行政区划代码（GB/T 2260）"},
                "name": STRING,
                "name_en": STRING,
                **_FIGURES,
            }
        ),
        "QualityByCounty": obj({"counties": {"type": "array", "items": openapi.ref("CountyQuality")}}),
    }
)


@bp.get("/departments")
@openapi.operation(
    "getQualityByDepartment",
    "数据质量：各部门的数据集数、逾期未更新数、失效链接数、平均开放星级、平均元数据完整度",
    responses=responses("QualityByDepartment"),
)
def departments():
    return {"departments": quality.departments(clock.now(), reuse_within=_reuse())}


@bp.get("/counties")
@openapi.operation(
    "getQualityByCounty",
    "数据质量：各县（市、区）的数据集数、逾期未更新数、失效链接数、平均开放星级、平均元数据完整度",
    responses=responses("QualityByCounty"),
)
def counties():
    return {"counties": quality.summary(clock.now(), reuse_within=_reuse())["counties"]}


def _reuse() -> float:
    """How stale the figures may get while the catalogue keeps changing: as long as its facet index."""
    return current_app.config["CATALOGUE_INDEX_REUSE_SECONDS"]
