"""`/api/v1/applications`: the approved applications as JSON, for anyone.

Nested under /api/v1 (portal/api/v1.py): its hooks limit, check and count the calls. Errors come out as
{"error": {"code", "message"}} through portal/errors.py, as for every /api/ path.
"""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from sqlalchemy.orm import selectinload

from portal import inputs
from portal.api import openapi
from portal.api.openapi import (
    ID,
    INTEGER,
    PAGE,
    STRING,
    TIME,
    URL,
    list_of,
    nullable,
    obj,
    path_parameter,
    per_page_parameter,
    query_parameter,
    responses,
)
from portal.applications import domains, showcase
from portal.applications.models import APPROVED, Application
from portal.extensions import db

bp = Blueprint("applications", __name__, url_prefix="/applications")  # nested under /api/v1

DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 20, openapi.MAX_PER_PAGE, openapi.MAX_PAGE
MAX_ID = 2_147_483_647  # a larger id cannot exist, and SQLite cannot even compare it

openapi.schemas(
    {
        "Application": obj(
            {
                "id": INTEGER,
                "name": STRING,
                "county": obj({"code": STRING, "name": STRING}),
                "quarter": {
                    "type": "string",
                    "pattern": "^[0-9]{4}Q[1-4]$",
                    "description": "上线季度，如 2020Q1",
                },
                "domain": {**STRING, "description": "应用领域（重点领域主题名称或 other）"},
                "description": STRING,
                "exemplary": {"type": "boolean", "description": "是否为示范成果"},
                "approved_at": nullable(TIME),
                "links": obj(
                    {"web": nullable(STRING), "mini_program": nullable(STRING), "zlb": nullable(STRING)}
                ),
                "datasets": {"type": "array", "items": obj({"id": INTEGER, "name": STRING, "title": STRING})},
                "screenshots": {"type": "array", "items": URL},
                "url": URL,
            }
        ),
        "ApplicationList": list_of("Application"),
    }
)


@bp.get("")
@openapi.operation(
    "listApplications",
    "已通过审核的数据开放创新应用，示范成果在前",
    parameters=[
        query_parameter("county", "县（市、区）代码，如 330402", {"type": "string", "pattern": "^[0-9]*$"}),
        query_parameter(
            "domain", "应用领域", {"type": "string", "enum": ["", *(d.name for d in domains.domains())]}
        ),
        query_parameter("quarter", "季度，如 2020Q1", {"type": "string", "pattern": "^([0-9]{4}Q[1-4])?$"}),
        query_parameter("dataset", "所用数据集的 id", {**ID, "maximum": MAX_ID}),
        query_parameter(
            "exemplary", "只列示范成果", {"type": "string", "enum": ["", "1", "0", "true", "false", "on"]}
        ),
        PAGE,
        per_page_parameter(DEFAULT_PER_PAGE),
    ],
    responses=responses("ApplicationList"),
)
def index():
    page = _positive("page", 1)
    if page > MAX_PAGE:
        abort(400, description=f"page must be at most {MAX_PAGE}")
    per_page = min(_positive("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    filters = _filters()
    query = showcase.approved(filters).options(selectinload(Application.datasets))
    result = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    return {
        "items": [application_json(a) for a in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }


@bp.get("/<int:application_id>")
@openapi.operation(
    "getApplication",
    "一个已通过审核的应用",
    parameters=[path_parameter("application_id", ID)],
    responses=responses("Application", "404"),
)
def show(application_id: int):
    application = db.session.get(Application, application_id) if application_id <= MAX_ID else None
    if application is None or application.status != APPROVED:
        abort(404)
    return application_json(application)


def application_json(application: Application) -> dict:
    """Serialise an approved application: what the public page shows, with absolute links."""
    return {
        "id": application.id,
        "name": application.name,
        "county": {"code": application.region.code, "name": application.region.name},
        "quarter": application.quarter,
        "domain": application.domain,
        "description": application.description,
        "exemplary": application.is_exemplary,
        "approved_at": application.approved_at.isoformat() if application.approved_at else None,
        "links": {
            "web": application.web_url or None,
            "mini_program": application.mini_program or None,
            "zlb": application.zlb_entry or None,
        },
        "datasets": [{"id": d.id, "name": d.name, "title": d.title} for d in application.datasets],
        "screenshots": [
            url_for("applications.file", application_id=application.id, file_id=f.id, _external=True)
            for f in application.screenshots
        ],
        "url": url_for("applications.detail", application_id=application.id, _external=True),
    }


def _positive(name: str, default: int) -> int:
    try:
        return inputs.optional_number(request.args.get(name), default, strict=True, minimum=1)
    except inputs.BadInput:
        abort(400, description=f"{name} must be a positive whole number")


def _filters() -> showcase.Filters:
    """Read the filters, refusing a value that cannot match (a typo should not look like "no results")."""
    filters = showcase.filters_from(request.args)
    args = request.args
    refused = [
        name
        for name, given, kept in (
            ("county", args.get("county"), filters.county),
            ("domain", args.get("domain"), filters.domain),
            ("quarter", args.get("quarter"), filters.quarter),
            ("dataset", args.get("dataset"), filters.dataset_id),
        )
        if given and not kept
    ]
    if args.get("dataset") == "":  # documented as an id: an empty one is no id (the others allow "")
        refused.append("dataset")
    if args.get("exemplary") not in (None, "", "0", "1", "true", "false", "on"):
        refused.append("exemplary")
    if refused:
        valid = ", ".join(d.name for d in domains.domains())
        abort(
            400,
            description=f"Invalid value for {', '.join(refused)}. county is a county code such as 330402, "
            f"domain one of {valid}, quarter such as 2020Q1, dataset an id, exemplary 1 or 0.",
        )
    return filters
