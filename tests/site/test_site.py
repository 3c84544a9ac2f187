"""The layout, the language switch, error pages and security headers."""

from __future__ import annotations

import re

import pytest
from factories import make_user

from portal.accounts.models import User
from portal.extensions import db

NAV = ["数据目录", "创新应用", "创新大赛", "数据统计"]


def test_home_page_is_chinese_with_the_navigation(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "嘉兴市数据开放创新平台" in html
    for label in NAV:
        assert label in html


def test_english_switch_persists_across_requests(client):
    response = client.post("/language", data={"lang": "en", "next": "/datasets/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/datasets/"
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Data catalogue" in html and "数据目录" not in html
    client.post("/language", data={"lang": "zh_CN"})
    assert "数据目录" in client.get("/").get_data(as_text=True)


def test_language_switch_ignores_unknown_languages_and_foreign_next(client):
    response = client.post("/language", data={"lang": "xx", "next": "//evil.example"})
    assert response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", ["/datasets/", "/applications/", "/contest/", "/stats/"])
def test_sections_render_an_empty_state(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "empty-state" in response.get_data(as_text=True)


def test_not_found_page_in_the_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "页面不存在" in html and "数据目录" in html


def test_server_error_page_in_the_layout(make_app):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    with app.app_context():
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "服务器错误" in response.get_data(as_text=True)


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_every_asset_is_served_from_static(client):
    html = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:href|src)="([^"]+\.(?:css|js|svg|png|woff2?))"', html):
        assert url.startswith("/static/")
        assert client.get(url).status_code == 200


def test_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_health_check(client):
    node = client.application.config["NODE_NAME"]
    assert client.get("/healthz").get_json() == {"status": "ok", "node": node}


SWITCHES = ("/language", "/text-size")


def _post_forms(html: str) -> list[str]:
    return re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.S)


def test_a_signed_in_visitors_every_form_posts_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = make_user(role="developer")
        db.session.commit()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = user.get_id(), True
        forms = _post_forms(client.get("/").get_data(as_text=True))
        assert len(forms) >= 3  # the two switches and signing out
        assert all('name="csrf_token"' in form for form in forms)
        for path in SWITCHES:  # their language is saved on the account: a token is required
            assert client.post(path, data={"lang": "en", "size": "large"}).status_code == 400


def test_an_anonymous_visitors_switches_need_no_token_and_refuse_other_sites(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        forms = _post_forms(client.get("/").get_data(as_text=True))
        assert [f for f in forms if any(p in f for p in SWITCHES)] == forms and len(forms) == 2
        assert not any('name="csrf_token"' in form for form in forms)  # a token would need a session
        for path in SWITCHES:
            cross_site = client.post(path, data={"lang": "en"}, headers={"Sec-Fetch-Site": "cross-site"})
            assert cross_site.status_code == 403
            same_site = client.post(path, data={"lang": "en", "size": "large"},
                                    headers={"Sec-Fetch-Site": "same-origin"})  # fmt: skip
            assert same_site.status_code == 302
            assert not any(c.startswith("session=") for c in same_site.headers.getlist("Set-Cookie"))
        assert client.post("/account/sign-up", data={}).status_code == 400  # other forms keep their token


def test_the_language_switch_saves_a_signed_in_users_language_and_no_one_elses(client, login):
    bystander = make_user()
    user = login("developer")
    assert client.post("/language", data={"lang": "en"}).status_code == 302
    assert client.post("/language", data={"lang": "xx"}).status_code == 302  # unknown: ignored
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "en"
    assert db.session.get(User, bystander.id).language is None
    client.post("/account/sign-out")
    assert client.post("/language", data={"lang": "zh_CN"}).status_code == 302  # anonymous: the cookie only
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "en"
