"""Feedback in the JSON API: `/api/v1/feedback/summary[?year=YYYY]` and `/api/v1/requests`.

The rows are those of the statistics page and the admin scorecard (`figures.summary`): per department
(`organization`, the CKAN organization's name) and per county. Without a year, every report counts.
Nested under /api/v1 (portal/api/v1.py). Messages are in English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request

from portal import clock, inputs
from portal.api import openapi
from portal.api.openapi import (
    INTEGER,
    MAX_PAGE,
    MAX_PER_PAGE,
    PAGE,
    STRING,
    TIME,
    list_of,
    nullable,
    obj,
    per_page_parameter,
    query_parameter,
    ref,
    responses,
)
from portal.api.v1 import ApiError
from portal.catalogue.models import Department
from portal.extensions import db
from portal.feedback import data_requests, figures
from portal.feedback.models import REQUEST_STATUSES, DataRequest

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
_FIGURES |= {
    "overdue_datasets": {
        **_COUNT,
        "description": "当前逾期未更新的已发布数据集数（与数据质量看板的逾期数一致）",
    },
    "requests": {**_COUNT, "description": "提出的数据需求数（部门：点名该部门的需求）"},
    "requests_answered": {**_COUNT, "description": "其中已答复（已列入计划、已开放或不予开放）的需求数"},
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
    "数据纠错统计：各部门、各县（市、区）的纠错数、已整改、未采纳、逾期、整改率、答复用时中位数，"
    "逾期未更新数据集数，数据需求数与已答复数",
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


# /api/v1/requests: the public list of data requests, most votes first.
requests_bp = Blueprint("requests", __name__, url_prefix="/requests")  # nested under /api/v1
DEFAULT_PER_PAGE = 20

openapi.schemas(
    {
        "DataRequest": obj(
            {
                "id": INTEGER,
                "title": STRING,
                "reason": STRING,
                "organization": {**nullable(STRING), "description": "所提部门（CKAN 组织名），可为空"},
                "status": {"type": "string", "enum": ["open", "planned", "published", "declined"]},
                "votes": {"type": "integer", "minimum": 0},
                "answer": STRING,
                "dataset": {**nullable(STRING), "description": "已开放时对应的数据集名"},
                "created_at": TIME,
                "answered_at": nullable(TIME),
            }
        ),
        "DataRequestList": list_of("DataRequest"),
    }
)


@requests_bp.get("")
@openapi.operation(
    "listDataRequests",
    "数据需求：按支持数从多到少，含状态与答复",
    parameters=[
        query_parameter(
            "status",
            "按状态筛选",
            {"type": "string", "enum": ["", "open", "planned", "published", "declined"]},
        ),
        PAGE,
        per_page_parameter(DEFAULT_PER_PAGE),
    ],
    responses=responses("DataRequestList"),
)
def requests_index():
    status = request.args.get("status", "")
    if status and status not in REQUEST_STATUSES:
        raise ApiError(400, "status must be one of open, planned, published, declined")
    return page_of(data_requests.listing(status or None), request_json, DEFAULT_PER_PAGE)


def page_of(query, serialize: Callable[[Any], dict], default_per_page: int) -> dict:
    """One page of `query`'s rows as every /api/v1 list answers (items, page, per_page, total), paged by
    the request's page and per_page."""
    page, per_page = _paging(default_per_page)
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    return {
        "items": [serialize(row) for row in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }


def _paging(default_per_page: int) -> tuple[int, int]:
    """Return the query's (page, per_page), per_page clamped to MAX_PER_PAGE; bad numbers are a 400."""
    try:
        page = inputs.optional_number(request.args.get("page"), 1, strict=True, minimum=1, maximum=MAX_PAGE)
        per_page = inputs.optional_number(
            request.args.get("per_page"), default_per_page, strict=True, minimum=1, maximum=inputs.BIGGEST
        )
    except inputs.BadInput:
        raise ApiError(400, "page and per_page must be whole numbers from 1") from None
    return page, min(per_page, MAX_PER_PAGE)


def request_json(item: DataRequest) -> dict:
    department = db.session.get(Department, item.department_id) if item.department_id else None
    return {
        "id": item.id,
        "title": item.title,
        "reason": item.reason,
        "organization": department.name if department else None,
        "status": item.status,
        "votes": item.votes,
        "answer": item.answer,
        "dataset": item.dataset.name if item.dataset else None,
        "created_at": item.created_at.isoformat(),
        "answered_at": item.answered_at.isoformat() if item.answered_at else None,
    }
