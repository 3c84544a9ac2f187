"""The OpenAPI paths of the other areas' /api/v1 routes: applications, metrics, contest.

Kept here so that /api/v1/openapi.json stays one document; whoever changes one of these routes
updates its entry (tests/test_openapi.py fails for a route missing here, and fuzzes each area).
"""

from __future__ import annotations

from portal.api.openapi import (
    CATALOGUE_ERRORS,
    INTEGER,
    PAGE,
    STRING,
    TIME,
    URL,
    list_of,
    nullable,
    obj,
    per_page_parameter,
    query_parameter,
    ref,
    responses,
)
from portal.applications.domains import domains

SCHEMAS: dict[str, dict] = {}
PATHS: dict[str, dict] = {}

# /api/v1/applications (portal/applications/api.py): the approved county applications.
SCHEMAS["Application"] = obj(
    {
        "id": INTEGER,
        "name": STRING,
        "county": obj({"code": STRING, "name": STRING}),
        "quarter": {"type": "string", "pattern": "^[0-9]{4}Q[1-4]$", "description": "上线季度，如 2020Q1"},
        "domain": {**STRING, "description": "应用领域（重点领域主题名称或 other）"},
        "description": STRING,
        "exemplary": {"type": "boolean", "description": "是否为示范成果"},
        "approved_at": nullable(TIME),
        "links": obj({"web": nullable(STRING), "mini_program": nullable(STRING), "zlb": nullable(STRING)}),
        "datasets": {"type": "array", "items": obj({"id": INTEGER, "name": STRING, "title": STRING})},
        "screenshots": {"type": "array", "items": URL},
        "url": URL,
    }
)
SCHEMAS["ApplicationList"] = list_of("Application")
PATHS["/api/v1/applications"] = {
    "get": {
        "operationId": "listApplications",
        "tags": ["applications"],
        "summary": "已通过审核的数据开放创新应用，示范成果在前",
        "parameters": [
            query_parameter(
                "county", "县（市、区）代码，如 330402", {"type": "string", "pattern": "^[0-9]*$"}
            ),
            query_parameter(
                "domain", "应用领域", {"type": "string", "enum": ["", *(d.name for d in domains())]}
            ),
            query_parameter(
                "quarter", "季度，如 2020Q1", {"type": "string", "pattern": "^([0-9]{4}Q[1-4])?$"}
            ),
            query_parameter(
                "dataset", "所用数据集的 id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
            ),
            query_parameter(
                "exemplary", "只列示范成果", {"type": "string", "enum": ["", "1", "0", "true", "false", "on"]}
            ),
            PAGE,
            per_page_parameter(20),
        ],
        "responses": responses("ApplicationList", "400"),
    }
}
PATHS["/api/v1/applications/{application_id}"] = {
    "get": {
        "operationId": "getApplication",
        "tags": ["applications"],
        "summary": "一个已通过审核的应用",
        "parameters": [
            {
                "name": "application_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        ],
        "responses": responses("Application", "404"),
    }
}


# /api/v1/metrics (portal/metrics/api.py): the statistics page's figures per region.
_COUNT = nullable({"type": "integer", "minimum": 0})
_RATE = nullable({"type": "number", "minimum": 0})
SCHEMAS["RegionFigures"] = obj(
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
    }
)
SCHEMAS["RegionFiguresList"] = obj(
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
)
PATHS["/api/v1/metrics/counties"] = {
    "get": {
        "operationId": "listRegionFigures",
        "tags": ["metrics"],
        "summary": "全市及各县（市、区）的年度指标：数据集、数据容量、人均容量、下载、调用、活跃用户、应用",
        "parameters": [
            query_parameter("year", "年份，默认今年", {"type": "integer", "minimum": 2000, "maximum": 2200})
        ],
        "responses": responses("RegionFiguresList", *CATALOGUE_ERRORS),
    }
}

# /api/v1/contests (portal/contest/api.py): the contests with their tracks and rounds, and a round's
# published results.
_PHASES = [
    "upcoming",
    "submission",
    "awaiting_judging",
    "judging",
    "awaiting_results",
    "notice",
    "awaiting_final",
    "final",
]
SCHEMAS["ContestRound"] = obj(
    {
        "id": INTEGER,
        "name": STRING,
        "phase": {"type": "string", "enum": _PHASES},
        "submission_opens_at": TIME,
        "submission_closes_at": TIME,
        "judging_opens_at": TIME,
        "judging_closes_at": TIME,
        "published": {"type": "boolean", "description": "成绩是否已公布"},
        "published_at": nullable(TIME),
        "notice_ends_at": nullable(TIME),
        "finalised_at": nullable(TIME),
        "results_url": {**nullable(URL), "description": "已公布赛段的成绩接口地址；未公布时为 null"},
        "ranking_url": {**nullable(URL), "description": "已公布赛段的排名页面；未公布时为 null"},
    }
)
SCHEMAS["Contest"] = obj(
    {
        "id": INTEGER,
        "year": INTEGER,
        "name": STRING,
        "description": STRING,
        "url": URL,
        "tracks": {"type": "array", "items": obj({"id": INTEGER, "name": STRING, "description": STRING})},
        "rounds": {"type": "array", "items": ref("ContestRound")},
    }
)
SCHEMAS["ContestList"] = list_of("Contest")
PATHS["/api/v1/contests"] = {
    "get": {
        "operationId": "listContests",
        "tags": ["contest"],
        "summary": "历届大赛及其赛道、赛段，以及各赛段成绩是否已公布（最新的在前）",
        "parameters": [
            query_parameter(
                "year", "只列出该年份的大赛", {"type": "integer", "minimum": 2000, "maximum": 2200}
            ),
            PAGE,
            per_page_parameter(20),
        ],
        "responses": responses("ContestList", "400"),
    }
}
_ENTRY = {
    "entry_id": INTEGER,
    "title": STRING,
    "team": STRING,
    "county": nullable(obj({"code": STRING, "name": STRING})),
}
SCHEMAS["RoundResults"] = obj(
    {
        "contest": obj({"id": INTEGER, "year": INTEGER, "name": STRING}),
        "round": obj(
            {
                "id": INTEGER,
                "name": STRING,
                "aggregation": {"type": "string", "enum": ["mean", "trimmed_mean"]},
                "normalised": {"type": "boolean"},
                "advance_count": nullable(INTEGER),
                "advance_cutoff": nullable({"type": "number"}),
                "published_at": nullable(TIME),
                "notice_ends_at": nullable(TIME),
                "finalised_at": nullable(TIME),
            }
        ),
        "criteria": {
            "type": "array",
            "items": obj(
                {
                    "id": INTEGER,
                    "name": STRING,
                    "weight": INTEGER,
                    "max_score": INTEGER,
                    "tiebreak": nullable(INTEGER),
                }
            ),  # fmt: skip
        },
        "tracks": {
            "type": "array",
            "items": obj(
                {
                    "id": INTEGER,
                    "name": STRING,
                    "items": {
                        "type": "array",
                        "items": obj(
                            {
                                **_ENTRY,
                                "rank": nullable(INTEGER),
                                "score": nullable({"type": "number"}),
                                "judges": INTEGER,
                                "advances": {"type": "boolean"},
                            }
                        ),  # fmt: skip
                    },
                }
            ),
        },
        "disqualified": {"type": "array", "items": obj(_ENTRY)},
    }
)
PATHS["/api/v1/contests/{contest_id}/rounds/{round_id}/results"] = {
    "get": {
        "operationId": "getRoundResults",
        "tags": ["contest"],
        "summary": "大赛某赛段已公布的成绩与排名",
        "parameters": [
            {
                "name": "contest_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            },
            {"name": "round_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
        ],
        "responses": responses("RoundResults", "404"),
    }
}
