"""Sign-up, sign-in, sign-out, profile and password change through the web."""

from __future__ import annotations

import pytest
from factories import PASSWORD, make_user
from sqlalchemy import func, select

from portal.accounts import actions
from portal.accounts.models import User
from portal.extensions import db


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _sign_up(client, **overrides):
    data = {
        "email": "dev@example.cn",
        "display_name": "王开发",
        "organization": "嘉兴某科技公司",
        "password": "Shujukaifang-2026",
        "confirm": "Shujukaifang-2026",
    }
    data.update(overrides)
    return client.post("/account/sign-up", data=data)


def test_sign_up_creates_a_developer_who_then_signs_in(client):
    response = _sign_up(client)
    assert (response.status_code, response.headers["Location"]) == (302, "/account/sign-in")
    user = db.session.scalar(select(User))
    assert (user.email, user.role, user.display_name) == ("dev@example.cn", "developer", "王开发")
    assert user.password_hash != "Shujukaifang-2026"
    assert "王开发" not in client.get("/").get_data(as_text=True)  # sign-up alone signs nobody in
    client.post("/account/sign-in", data={"email": "dev@example.cn", "password": "Shujukaifang-2026"})
    assert "王开发" in client.get("/").get_data(as_text=True)


def test_sign_up_with_an_existing_email_whatever_its_case_creates_nothing(client):
    make_user(email="dev@example.cn")
    db.session.commit()
    response = _sign_up(client, email="DEV@Example.cn")
    assert (response.status_code, response.headers["Location"]) == (302, "/account/sign-in")
    assert _users() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", "至少需要 10 个字符"), ("abcdefghijkl", "同时包含字母"), ("1234567890", "过于常见")],
)
def test_sign_up_rejects_a_weak_password(client, password, message):
    response = _sign_up(client, password=password, confirm=password)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _users() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "名" * 61),
        ("email", "a" * 250 + "@x.cn"),
        ("organization", "单" * 121),
        ("email", "not-an-email"),
    ],
)
def test_sign_up_rejects_overlong_or_malformed_fields(client, field, value):
    response = _sign_up(client, **{field: value})
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert _users() == 0


def test_sign_up_rejects_mismatched_confirmation(client):
    response = _sign_up(client, confirm="Different-2026x")
    assert response.status_code == 400
    assert "两次输入的密码不一致" in response.get_data(as_text=True)
    assert _users() == 0


def test_sign_up_without_csrf_token_is_refused_and_creates_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        response = _sign_up(app.test_client())
        assert response.status_code == 400
        assert "安全令牌" in response.get_data(as_text=True)
        assert _users() == 0


def test_sign_in_and_sign_out(client):
    make_user(email="judge@example.cn", role="judge")
    db.session.commit()
    response = client.post("/account/sign-in", data={"email": "Judge@example.cn", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert db.session.scalar(select(User.last_sign_in_at)) is not None
    assert client.post("/account/sign-out").status_code == 302
    assert client.get("/account/").status_code == 302


def test_sign_in_with_a_wrong_password_fails_with_a_message(client):
    make_user(email="dev@example.cn")
    db.session.commit()
    response = client.post("/account/sign-in", data={"email": "dev@example.cn", "password": "nope-nope-1"})
    assert response.status_code == 400
    assert "邮箱或密码错误" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_deactivated_account_cannot_sign_in(client):
    make_user(email="gone@example.cn", active=False)
    db.session.commit()
    response = client.post("/account/sign-in", data={"email": "gone@example.cn", "password": PASSWORD})
    assert response.status_code == 400


def test_sign_in_redirects_only_to_local_next(client):
    make_user(email="dev@example.cn")
    db.session.commit()
    data = {"email": "dev@example.cn", "password": PASSWORD}
    response = client.post("/account/sign-in?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"
    client.post("/account/sign-out")
    response = client.post("/account/sign-in?next=/admin/", data=data)
    assert response.headers["Location"] == "/admin/"


def test_sign_in_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="3 per minute")
    with app.app_context():
        client = app.test_client()
        codes = [
            client.post(
                "/account/sign-in", data={"email": "x@example.cn", "password": "wrong-pass-1"}
            ).status_code
            for _ in range(4)
        ]
    assert codes == [400, 400, 400, 429]


def test_profile_update(client, login):
    login("developer")
    response = client.post("/account/", data={"display_name": "新名字", "organization": "嘉兴大学"})
    assert response.status_code == 302
    assert db.session.scalar(select(User.display_name)) == "新名字"


def test_password_change_needs_the_current_password(client, login):
    user = login("developer")
    bad = client.post(
        "/account/password", data={"current": "wrong", "new": "Xinmima-2026", "confirm": "Xinmima-2026"}
    )
    assert bad.status_code == 400
    assert "当前密码不正确" in bad.get_data(as_text=True)
    good = client.post(
        "/account/password", data={"current": PASSWORD, "new": "Xinmima-2026", "confirm": "Xinmima-2026"}
    )
    assert good.status_code == 302
    db.session.refresh(user)
    assert actions.authenticate(user.email, "Xinmima-2026") is not None


def test_county_member_must_be_bound_to_a_county(app):
    with pytest.raises(actions.AccountError):
        actions.create_user(
            email="t@example.cn", password="Jiaxing-2026x", display_name="团队", role="county_member"
        )
    assert _users() == 0


@pytest.mark.parametrize(("cookie", "saved"), [(None, "zh_CN"), ("en", "en"), ("zh_CN", "zh_CN")])
def test_signing_in_saves_the_language_of_the_page_for_the_users_emails(client, cookie, saved):
    user = make_user(email="lang@example.cn")
    db.session.commit()
    if cookie:
        client.set_cookie("lang", cookie)
    response = client.post("/account/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).language == saved
