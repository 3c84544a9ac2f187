"""API tokens: shown once, stored hashed, revoked by their owner only, refused when revoked or deactivated."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from factories import make_user
from sqlalchemy import select

from portal.accounts import tokens
from portal.accounts.models import ApiToken
from portal.extensions import db


def stored_tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def shown_token(html: str) -> str:
    return re.search(r'data-testid="token"[^>]*value="([^"]+)"', html)[1]


def test_created_token_is_shown_once_and_stored_hashed(client, login):
    user = login("developer")
    response = client.post("/account/api-tokens", data={"name": "停车导航小程序"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = shown_token(response.get_data(as_text=True))
    (token,) = stored_tokens()
    assert plain.startswith("jxod_") and len(plain) > 40
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert (token.user_id, token.name, token.prefix) == (user.id, "停车导航小程序", plain[:12])
    listing = client.get("/account/api-tokens").get_data(as_text=True)
    assert plain not in listing and token.prefix in listing and "停车导航小程序" in listing


def test_plain_token_is_stored_nowhere(app):
    user = make_user("developer")
    token, plain = tokens.create_token(user, "数据分析脚本")
    db.session.commit()
    row = db.session.execute(select(ApiToken.__table__).where(ApiToken.id == token.id)).one()
    assert all(plain not in str(value) for value in row)


def test_two_tokens_differ(app):
    user = make_user("developer")
    (_, first), (_, second) = tokens.create_token(user, "一"), tokens.create_token(user, "二")
    assert first != second


@pytest.mark.parametrize("name", ["", "   ", "长" * 61])
def test_token_name_is_required_and_at_most_sixty_characters(client, login, name):
    login("developer")
    response = client.post("/account/api-tokens", data={"name": name})
    assert response.status_code == 400
    assert stored_tokens() == []


def test_authenticate_returns_the_owner_and_notes_the_use(app):
    user = make_user("developer")
    token, plain = tokens.create_token(user, "脚本")
    db.session.commit()
    assert tokens.authenticate(plain) == user
    assert token.last_used_at is not None


def test_authenticate_updates_last_used_at_most_once_a_minute(app):
    user = make_user("developer")
    token, plain = tokens.create_token(user, "脚本")
    tokens.authenticate(plain)
    first = token.last_used_at
    tokens.authenticate(plain)
    assert token.last_used_at == first
    token.last_used_at = first - timedelta(minutes=2)
    tokens.authenticate(plain)
    assert token.last_used_at > first - timedelta(minutes=2)


@pytest.mark.parametrize("plain", ["", "jxod_", "jxod_unknown", "not-a-token", "jxod_" + "x" * 500])
def test_authenticate_refuses_unknown_tokens(app, plain):
    make_user("developer")
    assert tokens.authenticate(plain) is None


def test_authenticate_refuses_a_revoked_token(app):
    user = make_user("developer")
    token, plain = tokens.create_token(user, "脚本")
    tokens.revoke(token, by=user)
    db.session.commit()
    assert tokens.authenticate(plain) is None


def test_authenticate_refuses_a_deactivated_users_token(app):
    user = make_user("developer")
    _, plain = tokens.create_token(user, "脚本")
    user.active = False
    db.session.commit()
    assert tokens.authenticate(plain) is None


def test_owner_revokes_a_token(client, login):
    user = login("developer")
    token, plain = tokens.create_token(user, "旧脚本")
    db.session.commit()
    response = client.post(f"/account/api-tokens/{token.id}/revoke")
    assert response.status_code == 302
    (stored,) = stored_tokens()
    assert stored.revoked_at is not None
    assert 'data-state="revoked"' in client.get("/account/api-tokens").get_data(as_text=True)
    assert tokens.authenticate(plain) is None


def test_another_user_cannot_revoke_a_token(client, login):
    owner = make_user("developer")
    token, plain = tokens.create_token(owner, "别人的脚本")
    db.session.commit()
    login("developer")
    assert client.post(f"/account/api-tokens/{token.id}/revoke").status_code == 404
    (stored,) = stored_tokens()
    assert stored.revoked_at is None
    assert tokens.authenticate(plain) == owner


def test_revoke_refuses_a_token_of_someone_else(app):
    owner, other = make_user("developer"), make_user("admin")
    token, _ = tokens.create_token(owner, "脚本")
    with pytest.raises(tokens.TokenError):
        tokens.revoke(token, by=other)
    assert token.revoked_at is None


def test_token_list_shows_only_my_tokens(client, login):
    tokens.create_token(make_user("developer"), "别人的脚本")
    user = login("developer")
    tokens.create_token(user, "我的脚本")
    db.session.commit()
    html = client.get("/account/api-tokens").get_data(as_text=True)
    assert "我的脚本" in html and "别人的脚本" not in html


@pytest.mark.parametrize("url", ["/account/api-tokens", "/account/api-tokens/1/revoke"])
def test_token_actions_send_anonymous_visitors_to_sign_in(client, url):
    response = client.post(url, data={"name": "脚本"})
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
    assert stored_tokens() == []
