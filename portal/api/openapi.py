"""The OpenAPI 3 document of /api/v1, written by hand to match `views` (a test holds them together)."""

from __future__ import annotations

from copy import deepcopy

from portal import inputs
from portal.api import views
from portal.catalogue import search


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STRING, INTEGER = {"type": "string"}, {"type": "integer"}
TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # parameters: NUL is refused (no database stores it)
TIME = {"type": "string", "format": "date-time"}
URL = {"type": "string", "format": "uri"}


def obj(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(item: str, extra: dict | None = None) -> dict:
    properties = {
        "items": {"type": "array", "items": ref(item)},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": views.MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0},
        **(extra or {}),
    }
    return obj(properties)


SCHEMAS = {
    "Error": obj(
        {"error": obj({"code": {"type": "integer", "description": "HTTP 状态码"}, "message": STRING})}
    ),
    "Region": obj(
        {
            "code": {**STRING, "description": "行政区划代码（GB/T 2260）"},
            "name": STRING,
            "level": {"type": "string", "enum": ["city", "county"]},
        }
    ),  # fmt: skip
    "Department": obj(
        {
            "name": STRING,
            "title": STRING,
            "description": STRING,
            "region": nullable(ref("Region")),
            "dataset_count": {"type": "integer", "minimum": 0, "description": "已发布数据集数"},
        },
        ["name", "title", "description", "region"],
    ),
    "Theme": obj(
        {"name": STRING, "title": STRING, "dataset_count": {"type": "integer", "minimum": 0}},
        ["name", "title"],
    ),
    "County": obj(
        {
            "code": STRING,
            "name": STRING,
            "name_en": STRING,
            "level": {"type": "string", "enum": ["city", "county"]},
            "population": nullable({"type": "integer", "minimum": 1, "description": "最新年末常住人口"}),
            "population_year": nullable(INTEGER),
        }
    ),
    "Licence": obj({"id": STRING, "title": STRING, "url": nullable(STRING)}),
    "Facet": obj(
        {
            "value": STRING,
            "label": STRING,
            "count": {"type": "integer", "minimum": 0},
            "selected": {"type": "boolean"},
        }
    ),  # fmt: skip
    "Resource": obj(
        {
            "id": {**STRING, "description": "CKAN 资源 id"},
            "name": STRING,
            "description": STRING,
            "format": STRING,
            "mimetype": nullable(STRING),
            "size": nullable({"type": "integer", "minimum": 0, "description": "字节数（CKAN 所述）"}),
            "position": INTEGER,
            "records": nullable({"type": "integer", "minimum": 0}),
            "fields": nullable({"type": "integer", "minimum": 0}),
            "volume": nullable({"type": "integer", "minimum": 0, "description": "数据容量：记录数 × 字段数"}),
            "last_modified": nullable(TIME),
            "download_count": {"type": "integer", "minimum": 0},
            "download_url": {**URL, "description": "经平台下载（计入下载量）"},
        }
    ),
}
_SUMMARY = {
    "id": {**STRING, "description": "CKAN 数据集 id"},
    "name": STRING,
    "title": STRING,
    "notes": {**STRING, "description": "Markdown 说明"},
    "department": nullable(ref("Department")),
    "region": nullable(ref("Region")),
    "themes": {"type": "array", "items": ref("Theme")},
    "tags": {"type": "array", "items": STRING},
    "licence": nullable(ref("Licence")),
    "open_condition": {"type": "string", "enum": ["unconditional", "conditional"],
                       "description": "开放条件：无条件开放 / 有条件开放"},
    "formats": {"type": "array", "items": STRING},
    "num_resources": {"type": "integer", "minimum": 0},
    "volume": nullable({"type": "integer", "minimum": 0, "description": "数据容量；未测得时为 null"}),
    "metadata_created": nullable(TIME),
    "metadata_modified": TIME,
    "download_count": {"type": "integer", "minimum": 0},
    "url": {**URL, "description": "数据集页面"},
    "api_url": URL,
}  # fmt: skip
SCHEMAS["DatasetSummary"] = obj(_SUMMARY)
SCHEMAS["Dataset"] = obj(
    {
        **_SUMMARY,
        "author": STRING,
        "maintainer": STRING,
        "extras": {"type": "object", "additionalProperties": {"type": "string"}},
        "resources": {"type": "array", "items": ref("Resource")},
    }
)
SCHEMAS["DatasetList"] = list_of(
    "DatasetSummary",
    {"facets": {"type": "object", "additionalProperties": {"type": "array", "items": ref("Facet")},
                "description": "分面：department, region, theme, format, open_condition, tag"}},
)  # fmt: skip
for _name in ("Resource", "Department", "Theme", "County"):
    SCHEMAS[f"{_name}List"] = list_of(_name)

ERRORS = {
    "400": "参数错误（如 page=abc、未知的 sort）",
    "401": "API 令牌无效、已撤销或其账号已停用",
    "404": "不存在",
    "410": "数据集已撤下",
    "429": "超过调用频率限制",
}


def responses(schema: str, *codes: str) -> dict:
    out = {"200": {"description": "成功", "content": {"application/json": {"schema": ref(schema)}}}}
    for code in codes:
        out[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": ref("Error")}}}
    return out


CATALOGUE_ERRORS = ("400", "401", "429")


def query_parameter(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


LIMIT = search.MAX_FILTER_VALUES


def repeatable(name: str, description: str, items: dict | None = None) -> dict:
    parameter = query_parameter(
        name,
        f"{description}；可重复（至多 {LIMIT} 次）或以逗号分隔，取前 {LIMIT} 个值",
        {"type": "array", "items": items or TEXT, "maxItems": LIMIT},
    )
    return {**parameter, "style": "form", "explode": True}


PAGE = query_parameter(
    "page", "页码，从 1 开始", {"type": "integer", "minimum": 1, "maximum": views.MAX_PAGE}
)


def per_page_parameter(default: int) -> dict:
    return query_parameter(
        "per_page",
        f"每页条数，默认 {default}；大于 {views.MAX_PER_PAGE} 时按 {views.MAX_PER_PAGE} 处理",
        {"type": "integer", "minimum": 1, "maximum": inputs.BIGGEST, "default": default},
    )


_NAME = {"name": "name", "in": "path", "required": True, "description": "数据集名称（CKAN name）",
         "schema": {**TEXT, "minLength": 1}}  # fmt: skip

PATHS = {
    "/api/v1/datasets": {
        "get": {
            "operationId": "listDatasets",
            "summary": "检索已发布的数据集（支持中文分词检索与分面）",
            "parameters": [
                query_parameter(
                    "q", f"检索词，至多 {search.MAX_Q} 个字符", {**TEXT, "maxLength": search.MAX_Q}
                ),
                repeatable("department", "部门名称（Department.name）"),
                repeatable("region", "区县或市的行政区划代码"),
                repeatable("theme", "主题名称（Theme.name）"),
                repeatable("format", "资源格式，如 CSV"),
                repeatable("condition", "开放条件", {"type": "string", "enum": list(views.CONDITIONS)}),
                repeatable("tag", "标签"),
                query_parameter(
                    "sort",
                    "排序：相关度、最近更新、下载量、名称",
                    {"type": "string", "enum": list(views.SORTS)},
                ),
                PAGE,
                per_page_parameter(20),
            ],
            "responses": responses("DatasetList", *CATALOGUE_ERRORS),
        }
    },
    "/api/v1/datasets/{name}": {
        "get": {
            "operationId": "getDataset",
            "summary": "数据集详情（含资源及下载链接）",
            "parameters": [_NAME],
            "responses": responses("Dataset", *CATALOGUE_ERRORS, "404", "410"),
        }
    },
    "/api/v1/datasets/{name}/resources": {
        "get": {
            "operationId": "listResources",
            "summary": "数据集的资源",
            "parameters": [_NAME, PAGE, per_page_parameter(100)],
            "responses": responses("ResourceList", *CATALOGUE_ERRORS, "404", "410"),
        }
    },
    "/api/v1/departments": {
        "get": {
            "operationId": "listDepartments",
            "summary": "部门及其所属区县和已发布数据集数",
            "parameters": [repeatable("region", "只列此行政区划代码的部门"), PAGE, per_page_parameter(100)],
            "responses": responses("DepartmentList", *CATALOGUE_ERRORS),
        }
    },
    "/api/v1/themes": {
        "get": {
            "operationId": "listThemes",
            "summary": "主题及其已发布数据集数",
            "parameters": [PAGE, per_page_parameter(100)],
            "responses": responses("ThemeList", *CATALOGUE_ERRORS),
        }
    },
    "/api/v1/counties": {
        "get": {
            "operationId": "listCounties",
            "summary": "全市及各县（市、区）的代码和最新人口",
            "responses": responses("CountyList", *CATALOGUE_ERRORS),
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "本文档",
            "responses": {
                "200": {
                    "description": "OpenAPI 3 文档",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "429": {
                    "description": ERRORS["429"],
                    "content": {"application/json": {"schema": ref("Error")}},
                },
            },
        }
    },
}

for _operations in PATHS.values():
    for _operation in _operations.values():
        _operation["tags"] = ["catalogue"]

SCHEMAS["ApiIndex"] = obj(
    {
        "title": STRING,
        "version": STRING,
        "documentation": {**URL, "description": "本页（HTML）"},
        "openapi": URL,
        "links": {"type": "object", "additionalProperties": URL, "description": "operationId → 地址"},
    }
)
PATHS["/api/v1/"] = {
    "get": {
        "operationId": "getApiIndex",
        "tags": ["catalogue"],
        "summary": "接口文档（HTML）；请求头 Accept 优先 application/json 时返回各接口地址",
        "responses": {
            "200": {
                "description": "接口文档或地址索引",
                "content": {
                    "text/html": {"schema": STRING},
                    "application/json": {"schema": ref("ApiIndex")},
                },
            }
        },
    }
}

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {
        "title": "嘉兴市公共数据开放平台 API",
        "version": "1.0.0",
        "description": (
            "开放数据目录的只读 JSON 接口。默认限额：匿名调用每个 IP 每分钟 60 次请求、6000 条数据集；"
            "带 API 令牌（`Authorization: Bearer <令牌>` 或 `X-API-Key`）每个用户（其全部令牌合计）"
            "每分钟 20000 次请求、30000 条数据集。数据集条数按请求所要的计（列表按 per_page，"
            "CKAN 兼容接口的 package_search 按 rows），两个接口共用限额；超限返回 429 与 Retry-After。"
            "无效或已撤销的令牌返回 401，不会按匿名处理。错误均为 "
            '`{"error": {"code": …, "message": …}}`（message 为英文）。'
            "另有 CKAN 兼容接口 /api/3/action/ 与 DCAT 目录 /catalog.jsonld、/catalog.ttl。"
        ),
    },
    "servers": [{"url": "/"}],
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "开发者在账号页创建的 API 令牌",
            },
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        },
    },
    "security": [{}, {"bearerToken": []}, {"apiKey": []}],
    "paths": PATHS,
}


def document() -> dict:
    """Return a copy of the whole OpenAPI document, the other areas' routes included."""
    from portal.api import openapi_areas  # it builds on this module's helpers

    whole = deepcopy(DOCUMENT)
    whole["paths"].update(deepcopy(openapi_areas.PATHS))
    whole["components"]["schemas"].update(deepcopy(openapi_areas.SCHEMAS))
    return whole
