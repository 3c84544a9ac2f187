"""/api/v1/: the API's documentation, rendered from its OpenAPI document; an index of links in JSON.

A blueprint of its own, not the API's: reading the documentation is no API call (it is not metered,
rate-limited as data, or refused for a bad token). A client that prefers JSON gets the index; errors
under /api/ answer in the API's envelope (portal/errors.py).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from portal.api import docs, openapi
from portal.api.openapi import STRING, URL, obj, ref

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

openapi.schemas(
    {
        "ApiIndex": obj(
            {
                "title": STRING,
                "version": STRING,
                "documentation": {**URL, "description": "本页（HTML）"},
                "openapi": URL,
                "links": {"type": "object", "additionalProperties": URL, "description": "operationId → 地址"},
            }
        )
    }
)


@bp.app_template_global("api_base_url")
def base_url() -> str:
    """Return the site's root URL: PUBLIC_BASE_URL when set (SERVER_NAME follows it), else the request's."""
    return url_for("site.home", _external=True).rstrip("/")


@bp.app_template_global("api_search_example")
def search_example() -> str:
    """Return the curl command that searches the catalogue for 交通 with a token (docs and token pages)."""
    return docs.curl(base_url(), "/api/v1/datasets", {"q": "交通"})


@bp.get("/")
@openapi.operation(
    "getApiIndex",
    "接口文档（HTML）；请求头 Accept 优先 application/json 时返回各接口地址",
    tags=["catalogue"],
    responses={
        "200": {
            "description": "接口文档或地址索引",
            "content": {"text/html": {"schema": STRING}, "application/json": {"schema": ref("ApiIndex")}},
        }
    },
)
def index():
    document, base = openapi.document(current_app), base_url()
    if _prefers_json():
        body = {
            "title": document["info"]["title"],
            "version": document["info"]["version"],
            "documentation": url_for("api_docs.index", _external=True),
            "openapi": url_for("api.openapi_document", _external=True),
            "links": docs.index_links(document, base),
        }
        return body, 200, {"Vary": "Accept"}
    page = render_template(
        "api/docs.html",
        info=document["info"],
        sections=docs.sections(document, base),
        schemas=docs.schemas(document),
        anonymous_example=docs.curl(base, "/api/v1/themes", token=False),
    )
    return page, 200, {"Vary": "Accept"}


def _prefers_json() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/html")
