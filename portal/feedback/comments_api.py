"""Dataset comments in the JSON API: `GET` and `POST /api/v1/datasets/<name>/comments`.

The list is what everyone sees on the dataset's comments page: shown comments only, oldest first, paged, each
author named as the page names them (their display name; never an email or an id). Posting needs an API
token and follows the page's moderation rules (`comments.add`): a new account's comment is held until a
moderator approves it, and the answer says so (`state`). Refusals are the API's envelope, in English.
Nested under /api/v1 (portal/api/v1.py).
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_babel import force_locale
from sqlalchemy import select

from portal import clock
from portal.accounts import callers
from portal.api import openapi
from portal.api.openapi import (
    ID,
    MAX_PER_PAGE,
    PAGE,
    TEXT,
    TIME,
    error_response,
    list_of,
    obj,
    per_page_parameter,
    ref,
    responses,
)
from portal.api.v1 import ApiError
from portal.catalogue import rendering
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.feedback import comments
from portal.feedback.api import page_of
from portal.feedback.models import DatasetComment

bp = Blueprint("comments", __name__, url_prefix="/datasets")  # nested under /api/v1

_NAME = openapi.path_parameter("name", {**TEXT, "minLength": 1}, "数据集名称（CKAN name）")
_BODY = {
    **obj(
        {
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": comments.TEXT_MAX,
                "pattern": "^[^\\x00]*[^\\x00\\s][^\\x00]*$",
                "description": "评论内容（Markdown），不能为空白",
            }
        }
    ),
    "additionalProperties": False,
}
openapi.schemas(
    {
        "Comment": obj(
            {
                "id": ID,
                "author": {"type": "string", "description": "作者的显示名称，与页面所示相同"},
                "text": {"type": "string", "description": "评论原文（Markdown）"},
                "html": {"type": "string", "description": "经过清理的 HTML"},
                "state": {
                    "type": "string",
                    "enum": ["shown", "held"],
                    "description": "shown：公开；held：新账号的评论，待管理员审核后公开",
                },
                "created_at": TIME,
            }
        ),
        "CommentList": list_of("Comment"),
    }
)


def _published(name: str) -> Dataset:
    """The published dataset `name`, or a 404 (a withdrawn dataset's comments are not shown either)."""
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name[:200]))
    if dataset is None or not dataset.is_published:
        raise ApiError(404, f"There is no published dataset named {name[:100]!r}.")
    g.api_dataset_id = dataset.id
    return dataset


def comment_json(comment: DatasetComment) -> dict:
    return {
        "id": comment.id,
        "author": comment.user.display_name,
        "text": comment.text,
        "html": str(rendering.markdown_to_html(comment.text)),
        "state": comment.state,
        "created_at": comment.created_at.isoformat(),
    }


@bp.get("/<name>/comments")
@openapi.operation(
    "listDatasetComments",
    "数据集的评论：仅公开的评论，按发表先后",
    parameters=[_NAME, PAGE, per_page_parameter(MAX_PER_PAGE)],
    responses=responses("CommentList", "404"),
)
def index(name: str):
    return page_of(comments.shown(_published(name)), comment_json, MAX_PER_PAGE)


@bp.post("/<name>/comments")
@openapi.operation(
    "addDatasetComment",
    "发表评论（需 API 令牌）；新账号的评论待审核后公开",
    parameters=[_NAME],
    requestBody={"required": True, "content": {"application/json": {"schema": _BODY}}},
    security=[{"bearerToken": []}, {"apiKey": []}],
    responses={
        "201": {"description": "已发表或待审核", "content": {"application/json": {"schema": ref("Comment")}}},
        "404": error_response("404"),
    },
)
def add(name: str):
    author = callers.user()
    if author is None:
        raise ApiError(401, "Posting a comment needs an API token (Authorization: Bearer <token>).")
    dataset = _published(name)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"text"} or not isinstance(body["text"], str):
        raise ApiError(400, 'The body must be a JSON object with only the comment, as "text" (a string).')
    if len(body["text"]) > comments.TEXT_MAX:  # as sent: the page trims blanks first, the document does not
        raise ApiError(400, f"The text is longer than {comments.TEXT_MAX} characters.")
    rules = comments.Rules.from_config(current_app.config)
    try:
        added = comments.add(dataset, by=author, text=body["text"], now=clock.now(), rules=rules)
    except comments.CommentError as exc:
        db.session.rollback()
        with force_locale("en"):  # the API speaks English
            raise ApiError(400, str(exc)) from None
    db.session.commit()
    return comment_json(added), 201
