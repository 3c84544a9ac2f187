"""`/api/v1/applications`: the approved applications as JSON, for anyone.

Errors come out as {"error": {"code", "message"}} through portal/errors.py, as for every /api/ path.
"""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from sqlalchemy.orm import selectinload

from portal import inputs
from portal.applications import domains, showcase
from portal.applications.models import APPROVED, Application
from portal.extensions import csrf, db

bp = Blueprint("applications_api", __name__, url_prefix="/api/v1/applications")
csrf.exempt(bp)

DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 20, 100, 100_000
MAX_ID = 2_147_483_647  # a larger id cannot exist, and SQLite cannot even compare it


@bp.get("")
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
