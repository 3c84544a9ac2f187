"""Behaviour monitoring through the web (issue 15 item 5): downloads by token and by a signed-in browser are
counted per day, exactly under parallel requests to a real server; past a hard limit the token is suspended,
and every API it calls answers 403 saying why (the API's envelope, CKAN's shape on /api/3, the download);
the owner sees the reason on /account/api-tokens and in the inbox."""

from __future__ import annotations

import email
from concurrent.futures import ThreadPoolExecutor
from email import policy
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from catalogue_factories import CSV, download_url, make_dataset, mirrored
from ckanserver import serve
from factories import make_user
from sqlalchemy import event, select

from portal import clock
from portal.accounts import tokens, usage
from portal.accounts.models import ApiToken
from portal.accounts.usage import Tally, UsageAlert
from portal.extensions import db
from portal.notices.models import Notification


@pytest.fixture
def resource():
    dataset = make_dataset(title="南湖区停车场泊位")
    db.session.commit()
    return dataset, mirrored(dataset, mirrored_size=len(CSV))


def token_of(user, name: str = "下载脚本") -> tuple[ApiToken, str]:
    token, plain = tokens.create_token(user, name)
    db.session.commit()
    return token, plain


def used(user_id: int) -> dict[int, Tally]:
    db.session.expire_all()
    return usage.of_user(user_id, clock.today())


def test_downloads_count_per_token_and_per_signed_in_user(client, login, resource):
    dataset, res = resource
    user = login("developer")
    token, plain = token_of(user)
    assert client.get(download_url(dataset, res)).status_code == 200
    for _ in range(2):
        assert client.get(download_url(dataset, res), headers={"X-API-Key": plain}).status_code == 200
    assert used(user.id) == {
        usage.NO_TOKEN: Tally(downloads=1, bytes=len(CSV)),
        token.id: Tally(downloads=2, bytes=2 * len(CSV)),
    }


def test_anonymous_and_refused_downloads_count_nothing(client, resource):
    dataset, res = resource
    client.get(download_url(dataset, res))  # anonymous: sent to sign in
    client.get(download_url(dataset, res), headers={"X-API-Key": "jxod_unknown"})  # 401
    assert db.session.scalar(select(usage.UsageDay)) is None


def test_parallel_requests_to_a_real_server_are_counted_exactly(app, resource):
    dataset, res = resource
    user = make_user()
    token, plain = token_of(user)
    path = download_url(dataset, res)

    def fetch(_: int) -> int:
        with urlopen(Request(base + path, headers={"X-API-Key": plain}), timeout=30) as answer:
            answer.read()
            return answer.status

    with serve(app) as base, ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(fetch, range(30)))
    assert statuses == [200] * 30
    assert used(user.id) == {token.id: Tally(downloads=30, bytes=30 * len(CSV))}


def test_a_hard_limit_suspends_the_token_and_every_api_says_why(app, client, login, resource):
    app.config.update(USAGE_ALERT_DOWNLOADS=2, USAGE_LIMIT_DOWNLOADS=3)
    dataset, res = resource
    user = make_user()
    token, plain = token_of(user, "爬虫脚本")
    key = {"X-API-Key": plain}
    statuses = [client.get(download_url(dataset, res), headers=key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 403]  # the third reached the limit; the fourth is refused
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).is_suspended
    assert {(a.metric, a.level) for a in db.session.scalars(select(UsageAlert))} == {
        ("downloads", "soft"),
        ("downloads", "hard"),
    }

    refused = client.get("/api/v1/datasets", headers=key)
    assert refused.status_code == 403
    message = refused.get_json()["error"]["message"]
    assert "suspended" in message and "3 downloads today (limit 3)" in message and "administrator" in message
    ckan = client.get("/api/3/action/package_list", headers={"Authorization": plain})
    assert ckan.status_code == 403 and ckan.get_json()["success"] is False
    assert ckan.get_json()["error"]["__type"] == "Authorization Error"
    assert "suspended" in ckan.get_json()["error"]["message"]
    download = client.get(download_url(dataset, res), headers=key)
    assert download.status_code == 403 and "suspended" in download.get_json()["error"]["message"]
    assert client.get("/api/v1/datasets").status_code == 200  # without the token, as anyone

    (notice,) = db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    assert notice.kind == usage.TOKEN_SUSPENDED

    login_as(client, user)
    page = client.get("/account/api-tokens").get_data(as_text=True)
    assert 'data-state="suspended"' in page and "3 downloads today (limit 3)" in page
    inbox = client.get("/notifications").get_data(as_text=True)
    assert "/account/api-tokens" in inbox


def test_tokens_together_past_a_hard_limit_suspend_all_of_them_and_say_so(app, client, resource):
    app.config.update(USAGE_ALERT_DOWNLOADS=0, USAGE_LIMIT_DOWNLOADS=3)
    dataset, res = resource
    user = make_user()
    (first, first_plain), (second, second_plain) = token_of(user, "脚本一"), token_of(user, "脚本二")
    url = download_url(dataset, res)
    statuses = [client.get(url, headers={"X-API-Key": first_plain}).status_code for _ in range(2)]
    statuses.append(client.get(url, headers={"X-API-Key": second_plain}).status_code)
    assert statuses == [200, 200, 200]  # the third download of the user reached the limit of the tokens
    assert used(user.id) == {
        first.id: Tally(downloads=2, bytes=2 * len(CSV)),
        second.id: Tally(downloads=1, bytes=len(CSV)),
    }
    for plain in (first_plain, second_plain):  # each is refused now, saying which limit
        refused = client.get("/api/v1/datasets", headers={"X-API-Key": plain})
        assert refused.status_code == 403
        assert (
            "all your tokens together reached: 3 downloads today (limit 3)"
            in refused.get_json()["error"]["message"]
        )
    bodies = [
        email.message_from_bytes(path.read_bytes(), policy=policy.default).get_body().get_content()
        for path in Path(app.instance_path, "mail").glob("*.eml")
    ]
    assert sorted(token.prefix in body for body in bodies for token in (first, second)) == [0, 0, 1, 1]


def login_as(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def test_a_counted_request_adds_one_statement_and_others_none(app, client, resource):
    """The cost of monitoring in statements (the decision in docs/decisions.md): one upsert per download
    or row call, nothing for a request that counts nothing."""
    dataset, res = resource
    _, plain = token_of(make_user())
    seen: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        if "usage_" in statement:
            seen.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        client.get(download_url(dataset, res), headers={"X-API-Key": plain})
        assert seen == ["INSERT"]
        seen.clear()
        client.get("/api/v1/datasets", headers={"X-API-Key": plain})
        client.get(f"/datasets/{dataset.name}")
        assert seen == []
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
