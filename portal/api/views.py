"""The catalogue's JSON API, nested under /api/v1 (`v1`): the published catalogue, its departments,
themes and counties; each route declares its OpenAPI operation beside it.

Tokens, budgets (anonymous callers read at a lower rate than token holders), NUL refusal and metering
are the surface's. Query parameters are checked strictly and refused with 400, except `per_page`, which is
clamped to 100 (the answer's `per_page` says what was used). A withdrawn dataset answers 410 Gone, so a
client can tell it from a name that never existed (404). Messages are in English.
"""

from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import inputs
from portal.api import costs, openapi, serializers, v1
from portal.api.openapi import PAGE, TEXT, per_page_parameter, query_parameter, responses
from portal.api.schemas import SCHEMAS
from portal.api.v1 import ApiError
from portal.catalogue import rules, search
from portal.catalogue.models import CONDITIONAL, UNCONDITIONAL, Dataset, Department, Theme
from portal.catalogue.models import dataset_themes as dataset_themes_table
from portal.extensions import db
from portal.regions import population
from portal.regions.models import Region

bp = Blueprint("catalogue", __name__)  # at /api/v1 itself: v1.nest puts it there

MAX_PER_PAGE, MAX_PAGE = openapi.MAX_PER_PAGE, openapi.MAX_PAGE
DATASETS_PER_PAGE = 20
SORTS = ("relevance", "updated", "downloads", "name", "rating")
CONDITIONS = (UNCONDITIONAL, CONDITIONAL)
LIST_FILTERS = {facet.param: facet.field for facet in rules.FACETS}  # query parameter -> SearchQuery field


def _rows_asked() -> int:
    """Return the datasets a list asks for, charged to the caller's row budget (see `costs`)."""
    return costs.page_rows(request.args.get("per_page"), DATASETS_PER_PAGE, MAX_PER_PAGE)


openapi.schemas(SCHEMAS)
LIMIT = search.MAX_FILTER_VALUES


def _repeatable(name: str, description: str, items: dict | None = None) -> dict:
    parameter = query_parameter(
        name,
        f"{description}；可重复（至多 {LIMIT} 次）或以逗号分隔，取前 {LIMIT} 个值",
        {"type": "array", "items": items or TEXT, "maxItems": LIMIT},
    )
    return {**parameter, "style": "form", "explode": True}


# One `condition` value: either condition, or several separated by commas; empty pieces are ignored (as a
# form's empty field is), so the document says so rather than an enum that refuses `condition=`
_CONDITION_WORD = "|".join(CONDITIONS)
_CONDITION_PIECE = rf"\s*({_CONDITION_WORD})?\s*"
_CONDITION_ITEM = {"type": "string", "pattern": rf"^{_CONDITION_PIECE}(,{_CONDITION_PIECE})*$"}
_NAME = openapi.path_parameter("name", {**TEXT, "minLength": 1}, "数据集名称（CKAN name）")
_GONE = ("404", "410")


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
@v1.charges_rows(_rows_asked)
@openapi.operation(
    "listDatasets",
    "检索已发布的数据集（支持中文分词检索与分面）",
    parameters=[
        query_parameter("q", f"检索词，至多 {search.MAX_Q} 个字符", {**TEXT, "maxLength": search.MAX_Q}),
        _repeatable("department", "部门名称（Department.name）"),
        _repeatable("region", "区县或市的行政区划代码"),
        _repeatable("theme", "主题名称（Theme.name）"),
        _repeatable("format", "资源格式，如 CSV"),
        _repeatable("condition", "开放条件（空值忽略）", _CONDITION_ITEM),
        _repeatable("tag", "标签"),
        query_parameter(
            "sort", "排序：相关度、最近更新、下载量、名称、评分", {"type": "string", "enum": list(SORTS)}
        ),
        PAGE,
        per_page_parameter(DATASETS_PER_PAGE),
    ],
    responses=responses("DatasetList"),
)
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
    if dataset is None or dataset.withdrawn_reason in rules.WITHHELD_REASONS:  # graded 3-4: not even "gone"
        raise ApiError(404, f"There is no dataset named {name[:100]!r}.")
    g.api_dataset_id = dataset.id
    if not rules.is_published(dataset):
        raise ApiError(410, f"The dataset {name[:100]!r} has been withdrawn from the catalogue.")
    _preload([dataset])
    return dataset


@bp.get("/datasets/<name>")
@openapi.operation(
    "getDataset", "数据集详情（含资源及下载链接）", parameters=[_NAME], responses=responses("Dataset", *_GONE)
)
def dataset(name: str):
    return serializers.dataset_json(_published(name))


@bp.get("/datasets/<name>/resources")
@openapi.operation(
    "listResources",
    "数据集的资源",
    parameters=[_NAME, PAGE, per_page_parameter(MAX_PER_PAGE)],
    responses=responses("ResourceList", *_GONE),
)
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
@openapi.operation(
    "listDepartments",
    "部门及其所属区县和已发布数据集数",
    parameters=[_repeatable("region", "只列此行政区划代码的部门"), PAGE, per_page_parameter(MAX_PER_PAGE)],
    responses=responses("DepartmentList"),
)
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
@openapi.operation(
    "listThemes",
    "主题及其已发布数据集数",
    parameters=[PAGE, per_page_parameter(MAX_PER_PAGE)],
    responses=responses("ThemeList"),
)
def themes():
    page, per_page = _paging(MAX_PER_PAGE)
    total = db.session.scalar(select(func.count()).select_from(Theme))
    rows = db.session.scalars(
        select(Theme).order_by(Theme.name).offset((page - 1) * per_page).limit(per_page)
    ).all()
    counts = _datasets_per_theme()
    return _page([serializers.theme_json(t, counts.get(t.id, 0)) for t in rows], page, per_page, total)


@bp.get("/counties")
@openapi.operation("listCounties", "全市及各县（市、区）的代码和最新人口", responses=responses("CountyList"))
def counties():
    regions = population.regions()  # the city first, then its counties
    return _page([serializers.county_json(r) for r in regions], 1, MAX_PER_PAGE, len(regions))
