"""Error report figures in the JSON API: `/api/v1/feedback/summary[?year=YYYY]`.

The rows are those of the statistics page and the admin scorecard (`figures.summary`): per department
(`organization`, the CKAN organization's name) and per county. Without a year, every report counts.
Nested under /api/v1 (portal/api/v1.py). Messages are in English.
"""

from __future__ import annotations

from flask import Blueprint, request

from portal import clock, inputs
from portal.api import openapi
from portal.api.openapi import INTEGER, STRING, nullable, obj, query_parameter, ref, responses
from portal.api.v1 import ApiError
from portal.feedback import figures

bp = Blueprint("feedback", __name__, url_prefix="/feedback")  # nested under /api/v1

FIRST_YEAR, LAST_YEAR = 2000, 2200

_COUNT = {"type": "integer", "minimum": 0}
_FIGURES = {
    "reports": _COUNT,
    "fixed": _COUNT,
    "rejected": _COUNT,
    "overdue": {**_COUNT, "description": "未在答复期限（工作日）内答复的纠错数"},
    "rectification_rate": {
        **nullable({"type": "number", "minimum": 0, "maximum": 1}),
        "description": "整改率 = 已整改 ÷ (纠错数 − 未采纳)；分母为 0 时为 null",
    },
    "median_reply_hours": {
        **nullable({"type": "number", "minimum": 0}),
        "description": "首次答复用时中位数（小时）",
    },
}
openapi.schemas(
    {
        "FeedbackFigures": obj(_FIGURES),
        "DepartmentFeedback": obj({"organization": STRING, "title": STRING, **_FIGURES}),
        "CountyFeedback": obj({"code": STRING, "name": STRING, "name_en": STRING, **_FIGURES}),
        "FeedbackSummary": obj(
            {
                "year": nullable(INTEGER),
                "total": ref("FeedbackFigures"),
                "departments": {"type": "array", "items": ref("DepartmentFeedback")},
                "counties": {"type": "array", "items": ref("CountyFeedback")},
            }
        ),
    }
)


@bp.get("/summary")
@openapi.operation(
    "getFeedbackSummary",
    "数据纠错统计：各部门、各县（市、区）的纠错数、已整改、未采纳、逾期、整改率、答复用时中位数",
    parameters=[
        query_parameter(
            "year",
            "按纠错提交年份统计；缺省为全部",
            {"type": "integer", "minimum": FIRST_YEAR, "maximum": LAST_YEAR},
        )
    ],
    responses=responses("FeedbackSummary"),
)
def summary():
    raw = request.args.get("year")
    try:
        year = inputs.optional_number(raw, None, strict=True, minimum=FIRST_YEAR, maximum=LAST_YEAR)
    except inputs.BadInput:
        raise ApiError(400, f"year must be a whole number from {FIRST_YEAR} to {LAST_YEAR}") from None
    return figures.summary(now=clock.now(), year=year)
