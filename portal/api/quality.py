"""Data quality in the JSON API: `/api/v1/quality/departments` (issue 17 item 4).

One row per department (`organization`: the CKAN organization's name) of its published datasets: how many,
how many are overdue for their declared update frequency, how many resources failed their latest link
check, and the mean openness stars (catalogue/quality.py defines each). Nested under /api/v1.
"""

from __future__ import annotations

from flask import Blueprint

from portal import clock
from portal.api import openapi
from portal.api.openapi import STRING, obj, responses
from portal.catalogue import quality

bp = Blueprint("quality", __name__, url_prefix="/quality")  # nested under /api/v1

_COUNT = {"type": "integer", "minimum": 0}
openapi.schemas(
    {
        "DepartmentQuality": obj(
            {
                "organization": {**STRING, "description": "CKAN 组织名"},
                "datasets": {**_COUNT, "description": "已发布数据集数"},
                "overdue": {**_COUNT, "description": "逾期未更新的数据集数"},
                "broken_resources": {**_COUNT, "description": "最近一次链接检查失败的资源数"},
                "mean_openness_stars": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 5,
                    "description": "平均开放星级",
                },
            }
        ),
        "QualityByDepartment": obj(
            {"departments": {"type": "array", "items": openapi.ref("DepartmentQuality")}}
        ),
    }
)


@bp.get("/departments")
@openapi.operation(
    "getQualityByDepartment",
    "数据质量：各部门的数据集数、逾期未更新数、失效链接数、平均开放星级",
    responses=responses("QualityByDepartment"),
)
def departments():
    return {"departments": quality.departments(clock.now())}
