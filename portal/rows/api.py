"""The rows of a resource on /api/v1, in the portal's style: pages of rows, and whole selections exported.

`GET /api/v1/datasets/<name>/resources/<id>/rows` answers a page (`items`, `page`, `per_page`, `total`,
`total_estimated` when a huge total is the planner's estimate, and the `fields`), filtered (`filters`, a
JSON object of values or lists), searched (`q`, Chinese by bigrams), sorted (`sort`, "field desc,
other"), narrowed (`fields`, `distinct`), as datastore_search does (the same reader, `rows/query.py`).
`…/rows/export?format=csv|json|xlsx` streams the whole selection, at most ROWS_EXPORT_MAX_RECORDS rows.
Bad parameters are a 400 that names the parameter. Personal fields are masked; a conditional dataset's
rows need a grant (the caller's token, or the signed-in user on the dataset page); every call is metered
and costs the caller's row budget one row per `costs.RECORDS_PER_ROW` records asked for.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile

from flask import Blueprint, Response, current_app, g, request

from portal import inputs
from portal.accounts import metering
from portal.api import costs, openapi, v1
from portal.api.openapi import INTEGER, STRING, TEXT, obj, query_parameter, responses
from portal.api.v1 import ApiError
from portal.catalogue import rules
from portal.extensions import db
from portal.rows import ckan as rows_ckan
from portal.rows import query, tables

bp = Blueprint("rows", __name__)  # at /api/v1: v1.nest puts it there

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "xlsx": None}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX = 1_048_575  # rows a worksheet holds below its header
EXPORT_BATCH = 2000

openapi.schemas(
    {
        "RowField": obj(
            {
                "id": STRING,
                "type": {**STRING, "description": "CKAN DataStore 类型：int、numeric、text 等"},
                "masked": {"type": "boolean", "description": "个人信息字段，已脱敏，不可筛选、检索或排序"},
            }
        ),
        "RowPage": obj(
            {
                "resource_id": STRING,
                "fields": {"type": "array", "items": openapi.ref("RowField")},
                "items": {"type": "array", "items": {"type": "object"}},
                "page": INTEGER,
                "per_page": INTEGER,
                "total": {"type": "integer", "minimum": 0},
                "total_estimated": {
                    "type": "boolean",
                    "description": "total 为数据库估算值（匹配行数超过精确计数上限时）",
                },
            },
            ["fields", "items", "page", "per_page", "total", "total_estimated"],
        ),
    }
)

_PARAMETERS = [
    openapi.path_parameter("name", {**TEXT, "minLength": 1}, "数据集名称（CKAN name）"),
    openapi.path_parameter("resource_id", {**TEXT, "minLength": 1}, "CKAN 资源 id"),
    query_parameter("filters", '筛选：JSON 对象，字段名到值或值列表，如 {"线路": ["1路", "2路"]}', TEXT),
    query_parameter("q", f"全文检索（中文按二元分词），至多 {query.MAX_Q} 个字符", TEXT),
    query_parameter("sort", "排序，如 “座位数 desc, _id”", TEXT),
    query_parameter("fields", "返回的字段，以逗号分隔", TEXT),
    query_parameter("distinct", "只返回不同的行", {"type": "boolean"}),
]
_PAGING = [
    openapi.PAGE,
    query_parameter(
        "per_page",
        f"每页行数，默认 {DEFAULT_PER_PAGE}；大于 {MAX_PER_PAGE} 时按 {MAX_PER_PAGE} 处理",
        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "default": DEFAULT_PER_PAGE},
    ),
]
_REFUSED = ("404", "410")
_DENIED = {
    "description": "有条件开放的数据集：需经批准的申请",
    "content": {"application/json": {"schema": openapi.ref("Error")}},
}


def _per_page() -> int:
    return costs.page_rows(request.args.get("per_page"), DEFAULT_PER_PAGE, MAX_PER_PAGE)


def _page_cost() -> int:
    return costs.records_rows(_per_page())


def _export_cost() -> int:
    return costs.records_rows(current_app.config["ROWS_EXPORT_MAX_RECORDS"])


def _readable(name: str, resource_id: str) -> tuple[str, tables.Table]:
    """Return (the resource's CKAN id, its row table) if the caller may read them; raise ApiError 404, 410
    or 403. The dataset, resource and row table are read in one statement (rows/tables.py)."""
    found = tables.locate(db.session, resource_id, dataset_name=name, text_index=bool(request.args.get("q")))
    dataset = found.dataset
    if dataset is None or dataset.withdrawn_reason in rules.WITHHELD_REASONS:  # graded 3-4: not even "gone"
        raise ApiError(404, f"There is no dataset named {name[:100]!r}.")
    g.api_dataset_id = dataset.id
    if not dataset.is_published:
        raise ApiError(410, f"The dataset {name[:100]!r} has been withdrawn from the catalogue.")
    try:
        return found.ckan_id, tables.readable_table(found, rows_ckan.caller())
    except tables.NotFound:
        raise ApiError(404, f"The dataset has no resource {resource_id[:100]!r} with rows.") from None
    except tables.Denied:
        raise ApiError(
            403, "This dataset is open on application: its rows need an approved request."
        ) from None


def _search(row_table: tables.Table, **fixed) -> query.Search:
    """Read the query parameters as datastore_search's; a refusal is a 400 naming the parameter."""
    params = {k: v for k, v in request.args.items() if k in ("filters", "q", "sort", "fields", "distinct")}
    try:
        search = query.parse({**params, **fixed}, row_table.fields)
    except query.Invalid as exc:
        key, messages = next(iter(exc.errors.items()))
        raise ApiError(400, f"{key}: {messages[0]}") from None
    search.text_index = row_table.text_index
    return search


def _page_number() -> int:
    raw = request.args.get("page")
    try:
        return inputs.optional_number(raw, 1, strict=True, minimum=1, maximum=openapi.MAX_PAGE)
    except inputs.BadInput as exc:
        raise ApiError(400, f"page {exc}, not {str(raw)[:40]!r}.") from None


def _fields_json(search: query.Search) -> list[dict]:
    return [
        {"id": f.id, "type": "text" if f.personal else f.type, "masked": bool(f.personal)}
        for f in search.fields
    ]


@bp.get("/datasets/<name>/resources/<resource_id>/rows")
@v1.charges_rows(_page_cost)
@openapi.operation(
    "listRows",
    "资源的数据行：分页、筛选、全文检索、排序（与 CKAN datastore_search 同样的能力）",
    tags=["rows"],
    parameters=[*_PARAMETERS, *_PAGING],
    responses={**responses("RowPage", *_REFUSED), "403": _DENIED},
)
def rows(name: str, resource_id: str):
    ckan_id, row_table = _readable(name, resource_id)
    page, per_page = _page_number(), _per_page()
    search = _search(row_table, limit=per_page, offset=(page - 1) * per_page)
    search.text_start = row_table.text_start  # read with the table, in this transaction
    found = query.run(db.session.connection(), row_table.table_name, row_table.fields, search)
    metering.note(row_calls=1, rows=len(found["records"]))
    return {
        "resource_id": ckan_id,
        "fields": _fields_json(search),
        "items": found["records"],
        "page": page,
        "per_page": per_page,
        "total": found["total"],
        "total_estimated": found["total_was_estimated"],
    }


@bp.get("/datasets/<name>/resources/<resource_id>/rows/export")
@v1.charges_rows(_export_cost)
@openapi.operation(
    "exportRows",
    "导出资源的数据行（所选范围全部行，流式输出 CSV、JSON 或 XLSX）",
    tags=["rows"],
    parameters=[
        *_PARAMETERS,
        query_parameter("format", "导出格式", {"type": "string", "enum": list(EXPORT_FORMATS)}),
    ],
    responses={
        "200": {
            "description": "导出文件",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **{code: openapi.error_response(code) for code in _REFUSED},
        "403": _DENIED,
    },
)
def export(name: str, resource_id: str):
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, f"format must be one of {', '.join(EXPORT_FORMATS)}.")
    ckan_id, row_table = _readable(name, resource_id)
    fields = row_table.fields
    most = current_app.config["ROWS_EXPORT_MAX_RECORDS"]
    if fmt == "xlsx":
        most = min(most, XLSX_MAX)
    search = _search(row_table, limit=query.MAX_LIMIT, include_total=False)
    filename = f"{ckan_id}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    # The rows are read while the answer streams, after the request's context has gone: on a connection
    # of their own, taken now (PostgreSQL keeps the request's statement bound on it), closed at the end.
    batches = _batches(db.engine.connect(), row_table.table_name, fields, search, most, metering.later())
    if fmt == "xlsx":
        return Response(_xlsx(search, batches), content_type=XLSX_TYPE, headers=headers)
    body = _csv(search, batches) if fmt == "csv" else _json_array(batches)
    return Response(body, content_type=EXPORT_FORMATS[fmt], headers=headers)


def _batches(conn, table_name, fields, search: query.Search, most: int, count=None):
    """Yield the selection's records a batch at a time (each batch its own statement), then close `conn`
    and `count` the rows sent as the caller's usage (behaviour monitoring)."""
    offset = 0
    try:
        while offset < most:
            search.offset, search.limit = offset, min(EXPORT_BATCH, most - offset)
            records = query.run(conn, table_name, fields, search)["records"]
            if records:
                yield records
            offset += len(records)
            if len(records) < search.limit:
                return
    finally:
        conn.close()
        if count is not None:
            count(offset)


def _csv(search: query.Search, batches):
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")  # Excel opens UTF-8 with a BOM as UTF-8
    writer.writerow([f.id for f in search.fields])
    for records in batches:
        for record in records:
            writer.writerow([_cell(v) for v in record.values()])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _json_array(batches):
    first = True
    yield "["
    for records in batches:
        for record in records:
            yield ("" if first else ",") + json.dumps(record, ensure_ascii=False)
            first = False
    yield "]"


def _xlsx(search: query.Search, batches):
    """Write the workbook in openpyxl's write-only mode to a temporary file, then send it in chunks."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([f.id for f in search.fields])
    for records in batches:
        for record in records:
            sheet.append([_cell(v) for v in record.values()])
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)

    def chunks():
        with spool:
            while chunk := spool.read(256 * 1024):
                yield chunk

    return chunks()


def _cell(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value
