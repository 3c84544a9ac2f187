"""An API token downloads what its owner may download, through the `download_url` the API hands out.

Refusals to a token come in the API's JSON envelope; a browser without a token is sent to sign in as before.
"""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from catalogue_factories import make_dataset
from factories import make_user
from sqlalchemy import select

from portal.accounts import tokens
from portal.catalogue import access
from portal.catalogue.models import CONDITIONAL, Dataset
from portal.extensions import db
from portal.activity.models import ActivityEvent

ORIGIN = "https://ckan.example.cn/files/嘉兴公交线路.csv"


@pytest.fixture
def conditional() -> Dataset:
    dataset = make_dataset(
        title="嘉兴市公交线路客流", open_condition=CONDITIONAL, resources=[{"format": "CSV", "url": ORIGIN}]
    )
    db.session.commit()
    return dataset


def granted_developer(dataset: Dataset):
    developer, admin = make_user("developer"), make_user("admin")
    request = access.request_access(developer, dataset, "用于公交客流分析与线路优化研究")
    access.decide(request, approve=True, reason="", by=admin)
    return developer


def token_of(user) -> str:
    _, plain = tokens.create_token(user, "下载脚本")
    db.session.commit()
    return plain


def api_download_url(client, dataset: Dataset, plain: str) -> str:
    body = client.get(f"/api/v1/datasets/{dataset.name}", headers={"Authorization": f"Bearer {plain}"}).json
    return body["resources"][0]["download_url"]


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_token_of_a_granted_developer_downloads_the_api_download_url(client, conditional, header):
    developer = granted_developer(conditional)
    plain = token_of(developer)
    url = api_download_url(client, conditional, plain)
    value = f"Bearer {plain}" if header == "Authorization" else plain
    response = client.get(url, headers={header: value})
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == ORIGIN  # the file itself, not the sign-in page
    event = db.session.scalar(select(ActivityEvent).where(ActivityEvent.kind == "download"))
    assert event.user_id == developer.id
    db.session.refresh(conditional)
    assert conditional.download_count == 1


def test_token_of_a_developer_without_a_grant_is_refused_in_json(client, conditional):
    granted_developer(conditional)
    plain = token_of(make_user("developer"))
    url = api_download_url(client, conditional, plain)
    response = client.get(url, headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 403
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == 403
    assert "approved access request" in response.json["error"]["message"]
    assert db.session.scalar(select(ActivityEvent).where(ActivityEvent.kind == "download")) is None


@pytest.mark.parametrize("problem", ["unknown", "revoked"])
def test_a_bad_token_is_refused_in_json_not_sent_to_sign_in(client, conditional, problem):
    developer = granted_developer(conditional)
    token, plain = tokens.create_token(developer, "下载脚本")
    if problem == "unknown":
        plain = tokens.TOKEN_PREFIX + "x" * 43
    else:
        tokens.revoke(token, by=developer)
    db.session.commit()
    url = f"/datasets/{conditional.name}/resources/{conditional.resources[0].ckan_id}/download"
    response = client.get(url, headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_for_an_unknown_resource_is_answered_in_json(client, conditional):
    plain = token_of(granted_developer(conditional))
    response = client.get(
        f"/datasets/{conditional.name}/resources/无此资源/download", headers={"X-API-Key": plain}
    )
    assert (response.status_code, response.json["error"]["code"]) == (404, 404)


def test_token_downloads_an_unconditional_dataset(client):
    dataset = make_dataset(title="南湖区公共厕所分布")
    plain = token_of(make_user("developer"))
    url = api_download_url(client, dataset, plain)
    assert client.get(url, headers={"Authorization": f"Bearer {plain}"}).status_code == 302


def test_browser_without_a_token_is_still_sent_to_sign_in(client, conditional):
    url = f"/datasets/{conditional.name}/resources/{conditional.resources[0].ckan_id}/download"
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"] or "/sign-in" in response.headers["Location"]


def test_signed_in_granted_developer_still_downloads_with_the_session(client, login, conditional):
    developer = login("developer")
    access.decide(
        access.request_access(developer, conditional, "用于公交客流分析与线路优化研究"),
        approve=True,
        reason="",
        by=make_user("admin"),
    )
    db.session.commit()
    url = f"/datasets/{conditional.name}/resources/{conditional.resources[0].ckan_id}/download"
    assert unquote(client.get(url).headers["Location"]) == ORIGIN
