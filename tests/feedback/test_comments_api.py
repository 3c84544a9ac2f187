"""Dataset comments in /api/v1 (GET and POST /api/v1/datasets/<name>/comments): only shown comments, paged,
authors named as the page names them; posting needs a token and follows the page's moderation (a new
account's comment is held); hostile input is a 4xx in the API's envelope, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from catalogue_factories import make_dataset
from factories import make_user
from fuzzing import fuzz
from sqlalchemy import func, select

from portal import clock
from portal.accounts import tokens
from portal.api import openapi
from portal.catalogue.models import WITHDRAWN
from portal.extensions import db
from portal.feedback import comments
from portal.feedback.models import HELD, SHOWN, DatasetComment

RULES = comments.Rules()


def _comment(dataset, *, state=SHOWN, text="这个数据集很有用", author=None):
    author = author or make_user(display_name="王**")
    comment = comments.add(dataset, by=author, text=text, now=clock.now(), rules=RULES)
    if state == SHOWN:
        comments.approve(comment, by=make_user("admin"), now=clock.now())
    db.session.commit()
    return comment


def _token(user) -> dict:
    _, plain = tokens.create_token(user, "评论脚本")
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _veteran():
    """An author whose comments show at once: an old account with an approved comment."""
    user = make_user(display_name="老用户")
    user.created_at = clock.now() - timedelta(days=30)
    _comment(make_dataset(), author=user)
    return user


def _envelope(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    return body["error"]["message"]


def test_the_list_is_the_shown_comments_paged_with_authors_as_the_page_shows_them(app, client):
    dataset = make_dataset()
    shown = [_comment(dataset, text=f"第 {n} 条 **评论**") for n in range(3)]
    held = _comment(dataset, state=HELD, text="等待审核")
    removed = _comment(dataset, text="已删除")
    comments.remove(removed, by=make_user("admin"), reason="广告", now=clock.now())
    db.session.commit()
    first = client.get(f"/api/v1/datasets/{dataset.name}/comments", query_string={"per_page": 2}).get_json()
    second = client.get(f"/api/v1/datasets/{dataset.name}/comments?per_page=2&page=2").get_json()
    assert first["total"] == 3 and (first["page"], first["per_page"]) == (1, 2)
    assert [c["id"] for c in first["items"] + second["items"]] == [c.id for c in shown]
    item = first["items"][0]
    assert set(item) == {"id", "author", "text", "html", "state", "created_at"}
    assert item["text"] == "第 0 条 **评论**" and "<strong>评论</strong>" in item["html"]
    page = client.get(f"/datasets/{dataset.name}/comments").get_data(as_text=True)
    assert f"<strong>{item['author']}</strong>" in page  # the name the page shows, nothing more
    assert shown[0].user.email not in str(first)
    assert held.id not in [c["id"] for c in first["items"] + second["items"]]


def test_a_signed_in_token_holder_posts_and_a_new_accounts_comment_is_held(app, client):
    dataset = make_dataset()
    newcomer, veteran = make_user(display_name="新用户"), _veteran()
    url = f"/api/v1/datasets/{dataset.name}/comments"
    held = client.post(url, json={"text": "第一次评论"}, headers=_token(newcomer))
    assert held.status_code == 201 and held.get_json()["state"] == HELD
    shown = client.post(url, json={"text": "  数据很及时  "}, headers=_token(veteran))
    assert shown.status_code == 201
    assert (shown.get_json()["state"], shown.get_json()["text"]) == (SHOWN, "数据很及时")
    assert [c["author"] for c in client.get(url).get_json()["items"]] == [veteran.display_name]  # held waits
    db.session.expire_all()
    assert db.session.get(DatasetComment, held.get_json()["id"]).state == HELD


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(DatasetComment))


@pytest.mark.parametrize(
    "body, kind",
    [
        ({"text": ""}, "json"),
        ({"text": "   "}, "json"),
        ({"text": "x" * (comments.TEXT_MAX + 1)}, "json"),
        ({"text": "@" + "\x1e" * comments.TEXT_MAX}, "json"),  # blanks to Python's strip, not to the limit
        ({"text": "含\x00字符"}, "json"),
        ({"text": 42}, "json"),
        ({"text": ["数组"]}, "json"),
        ({}, "json"),
        ({"text": "好评", "author": "冒充的名字"}, "json"),
        (["text"], "json"),
        ("text=表单", "form"),
        ('{"text": "未闭合', "raw"),
        ('{"text": "\\ud800"}', "raw"),
        ("[" * 200 + "]" * 200, "raw"),
    ],
)
def test_hostile_bodies_are_400_in_the_envelope_and_store_nothing(app, client, body, kind):
    dataset = make_dataset()
    headers, before = _token(_veteran()), _count()
    url = f"/api/v1/datasets/{dataset.name}/comments"
    if kind == "json":
        response = client.post(url, json=body, headers=headers)
    elif kind == "form":
        response = client.post(url, data=body, headers=headers)
    else:
        response = client.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
    _envelope(response, 400)
    assert _count() == before


def test_the_refusal_speaks_english(app, client):
    dataset = make_dataset()
    response = client.post(
        f"/api/v1/datasets/{dataset.name}/comments", json={"text": " "}, headers=_token(_veteran())
    )
    assert _envelope(response, 400) == "Write a comment."


@pytest.mark.parametrize("role", ["developer", "county_member", "judge", "data_owner", "admin"])
def test_every_role_with_a_token_may_post_and_nobody_without_one(app, client, role):
    dataset = make_dataset()
    url = f"/api/v1/datasets/{dataset.name}/comments"
    assert _envelope(client.post(url, json={"text": "匿名评论"}), 401)
    assert _envelope(client.post(url, json={"text": "坏令牌"}, headers={"X-API-Key": "jxod_nope"}), 401)
    assert client.post(url, json={"text": "有令牌"}, headers=_token(make_user(role))).status_code == 201


def test_unknown_or_unpublished_datasets_and_bad_pages_are_refused(app, client):
    withdrawn = make_dataset(state=WITHDRAWN)
    headers = _token(_veteran())
    for name in ("no-such-dataset", withdrawn.name, "x" * 5000):
        _envelope(client.get(f"/api/v1/datasets/{name}/comments"), 404)
        _envelope(
            client.post(f"/api/v1/datasets/{name}/comments", json={"text": "评论"}, headers=headers), 404
        )
    dataset = make_dataset()
    db.session.commit()
    for query in ("page=0", "page=abc", "per_page=-1", "page=１", "per_page=" + "9" * 30):
        _envelope(client.get(f"/api/v1/datasets/{dataset.name}/comments?{query}"), 400)


def test_fuzzed_comments_by_a_token_holder_on_a_real_dataset_get_documented_answers(app, client):
    """Schemathesis over the document with a token and a published dataset, so that bodies reach the view:
    valid ones are accepted (201, held or shown), invalid ones refused (4xx), none is a 500."""
    dataset = make_dataset(name="comments-fuzzed")
    headers = _token(_veteran())
    document = schemathesis.openapi.from_dict(openapi.document(app))
    operations = [result.ok() for result in document.get_all_operations()]
    mine = [o for o in operations if "comments" in o.definition.raw.get("tags", [])]
    assert sorted(o.method.upper() for o in mine) == ["GET", "POST"]
    for operation in mine:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode, path_parameters={"name": dataset.name}, headers=headers)
            fuzz(strategy, app, client)
    assert _count() > 1  # valid bodies were stored
