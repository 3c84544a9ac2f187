"""The JSON API under /api/v1: the published catalogue, its departments, themes and counties.

Anonymous callers may read at a lower rate than callers with a token (see `auth`). Query
parameters are checked strictly and refused with 400, except `per_page`, which is clamped to
100 (the answer's `per_page` says what was used). A withdrawn dataset answers 410 Gone, so a
client can tell it from a name that never existed (404). Messages are in English.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import inputs
from portal.api import auth, costs, serializers
from portal.catalogue import rules, search
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL, Dataset, Department, Theme
from portal.catalogue.models import dataset_themes as dataset_themes_table
from portal.extensions import csrf, db
from portal.metrics import events
from portal.regions import population
from portal.regions.models import Region

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_PER_PAGE = 100
DATASETS_PER_PAGE = 20
MAX_PAGE = 100_000  # deeper than any client needs, and keeps OFFSET far from integer overflow
SORTS = ("relevance", "updated", "downloads", "name")
CONDITIONS = (UNCONDITIONAL, CONDITIONAL)
LIST_FILTERS = {  # query parameter -> SearchQuery field
    "department": "departments",
    "region": "regions",
    "theme": "themes",
    "format": "formats",
    "condition": "open_conditions",
    "tag": "tags",
}


def _rows_asked() -> int:
    """Return the datasets this request asks for, charged to the caller's budget (see `costs`)."""
    return costs.v1_rows(request.endpoint, request.args.get("per_page"), DATASETS_PER_PAGE, MAX_PER_PAGE)


auth.rate_limit(bp, rows=_rows_asked)


class ApiError(Exception):
    """An answer other than 200: its HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str):
    return {"error": {"code": status, "message": message}}, status


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    return error(exc.status, exc.message)


@bp.before_request
def check_caller_and_parameters():
    if auth.has_invalid_token():
        body, status = error(401, "The API token is unknown, revoked, or its account is deactivated.")
        return body, status, {"WWW-Authenticate": 'Bearer realm="api"'}
    values = [v for _, v in request.args.items(multi=True)] + list((request.view_args or {}).values())
    if any("\x00" in str(v) for v in values):
        raise ApiError(400, "Parameters must not contain NUL characters.")
    return None


@bp.after_request
def record_call(response):
    """Record one api_call event per answered request (not for refusals by the rate limiter)."""
    if response.status_code < 500 and response.status_code != 429:
        try:
            events.record("api_call", dataset_id=g.get("api_dataset_id"), user=auth.user())
            db.session.commit()
        except Exception:  # counting must never break an answer
            db.session.rollback()
            current_app.logger.exception("could not record an api_call event")
    return response


def _int(name: str, default: int, *, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    try:
        return inputs.optional_number(raw, default, strict=True, minimum=1, maximum=maximum or inputs.BIGGEST)
    except inputs.BadInput as exc:
        raise ApiError(400, f"{name} {exc}, not {raw[:40]!r}.") from None


def _paging(default_per_page: int = DATASETS_PER_PAGE) -> tuple[int, int]:
    """Return (page, per_page), per_page clamped to MAX_PER_PAGE."""
    return _int("page", 1, maximum=MAX_PAGE), min(_int("per_page", default_per_page), MAX_PER_PAGE)


def _values(name: str) -> tuple[str, ...]:
    """Return a filter's values, given repeated (tag=a&tag=b) or comma-separated (tag=a,b); the
    parameter may be given at most MAX_FILTER_VALUES times, and so many values are used."""
    given = request.args.getlist(name)
    if len(given) > search.MAX_FILTER_VALUES:
        raise ApiError(400, f"{name} may be given at most {search.MAX_FILTER_VALUES} times.")
    found = (v.strip() for raw in given for v in raw.split(","))
    return tuple(dict.fromkeys(v for v in found if v))


def _search_query() -> search.SearchQuery:
    sort = request.args.get("sort", "relevance")  # exactly one of SORTS, as the document says
    if sort not in SORTS:
        raise ApiError(400, f"sort must be one of {', '.join(SORTS)}.")
    filters = {field: _values(param) for param, field in LIST_FILTERS.items()}
    unknown = [c for c in filters["open_conditions"] if c not in CONDITIONS]
    if unknown:
        raise ApiError(400, f"condition must be {' or '.join(CONDITIONS)}, not {unknown[0][:40]!r}.")
    page, per_page = _paging()
    q = request.args.get("q", "")
    if len(q) > search.MAX_Q:
        raise ApiError(400, f"q must be at most {search.MAX_Q} characters long.")
    return search.SearchQuery(q=q.strip(), sort=sort, page=page, per_page=per_page, **filters)


def _preload(datasets: list[Dataset]) -> None:
    """Load what the serialisers read for a page of datasets in a few queries, not a few per dataset."""
    if datasets:
        db.session.scalars(
            rules.with_relations(select(Dataset).where(Dataset.id.in_([d.id for d in datasets])))
        ).all()


def _page(items: list, page: int, per_page: int, total: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@bp.get("/datasets")
def datasets():
    result = search.search_datasets(_search_query())
    _preload(result.items)
    body = _page(
        [serializers.dataset_summary_json(d) for d in result.items],
        result.page,
        result.per_page,
        result.total,
    )
    body["facets"] = {
        key: [serializers.facet_json(f) for f in facets] for key, facets in result.facets.items()
    }
    return body


def _published(name: str) -> Dataset:
    """Return the published dataset `name`; raise ApiError 404, or 410 when it was withdrawn."""
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None:
        raise ApiError(404, f"There is no dataset named {name[:100]!r}.")
    g.api_dataset_id = dataset.id
    if not rules.is_published(dataset):
        raise ApiError(410, f"The dataset {name[:100]!r} has been withdrawn from the catalogue.")
    _preload([dataset])
    return dataset


@bp.get("/datasets/<name>")
def dataset(name: str):
    return serializers.dataset_json(_published(name))


@bp.get("/datasets/<name>/resources")
def resources(name: str):
    page, per_page = _paging(MAX_PER_PAGE)
    found = serializers.active_resources(_published(name))
    chosen = found[(page - 1) * per_page : page * per_page]
    return _page([serializers.resource_json(r) for r in chosen], page, per_page, len(found))


def _datasets_per_department() -> dict[int, int]:
    query = select(Dataset.department_id, func.count()).where(rules.published())
    return dict(db.session.execute(query.group_by(Dataset.department_id)).all())


def _datasets_per_theme() -> dict[int, int]:
    theme_id = dataset_themes_table.c.theme_id
    query = select(theme_id, func.count()).join_from(dataset_themes_table, Dataset)
    return dict(db.session.execute(query.where(rules.published()).group_by(theme_id)).all())


@bp.get("/departments")
def departments():
    page, per_page = _paging(MAX_PER_PAGE)
    query = select(Department).join(Region)
    codes = _values("region")
    if codes:
        query = query.where(Region.code.in_(codes))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(selectinload(Department.region))
        .order_by(Region.position, Region.code, Department.name)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    counts = _datasets_per_department()
    items = [serializers.department_json(d, counts.get(d.id, 0)) for d in rows]
    return _page(items, page, per_page, total)


@bp.get("/themes")
def themes():
    page, per_page = _paging(MAX_PER_PAGE)
    total = db.session.scalar(select(func.count()).select_from(Theme))
    rows = db.session.scalars(
        select(Theme).order_by(Theme.name).offset((page - 1) * per_page).limit(per_page)
    ).all()
    counts = _datasets_per_theme()
    return _page([serializers.theme_json(t, counts.get(t.id, 0)) for t in rows], page, per_page, total)


@bp.get("/counties")
def counties():
    regions = population.regions()  # the city first, then its counties
    return _page([serializers.county_json(r) for r in regions], 1, MAX_PER_PAGE, len(regions))


@bp.get("/openapi.json")
def openapi_document():
    from portal.api import openapi  # it reads this module's limits

    return openapi.document()
