"""The shapes the catalogue's /api/v1 views answer with, as OpenAPI schemas (`serializers` makes them).

Declared to the document by `views`; the operations that answer with them sit beside their routes there.
"""

from __future__ import annotations

from portal.api.openapi import INTEGER, STRING, TIME, URL, list_of, nullable, obj, ref

SCHEMAS = {
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
    "rating": obj({"mean": nullable({"type": "number", "minimum": 1, "maximum": 5}),
                   "count": {"type": "integer", "minimum": 0}}),
    "quality": obj({
        "overdue": {"type": "boolean", "description": "逾期未更新：距最近更新已超过声明的更新频率"},
        "openness_stars": {"type": "integer", "minimum": 0, "maximum": 5, "description": "开放星级"},
        "broken_resources": {"type": "integer", "minimum": 0, "description": "最近一次链接检查失败的资源数"},
        "completeness": {"type": "number", "minimum": 0, "maximum": 1, "description": "元数据完整度（0-1）"},
    }),
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
