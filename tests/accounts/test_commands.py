"""`flask tokens create / revoke` for the office's scripts, and the cap on a user's active tokens."""

from __future__ import annotations

import re

import pytest
from factories import make_user
from sqlalchemy import select

from portal.accounts import actions, tokens
from portal.accounts.models import DEVELOPER, ApiToken, User
from portal.extensions import db


def stored() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def test_create_prints_the_token_once_and_it_opens_the_api(runner, client):
    user = make_user("developer", email="etl@jiaxing.gov.cn")
    db.session.commit()
    result = runner.invoke(
        args=["tokens", "create", "--email", "ETL@jiaxing.gov.cn", "--name", "夜间同步脚本"]
    )
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip()
    assert re.fullmatch(r"jxod_[\w-]{40,}", plain)
    (token,) = stored()
    assert (token.user_id, token.name, token.prefix) == (user.id, "夜间同步脚本", plain[:12])
    assert plain not in (token.token_hash, token.prefix)
    answer = client.get("/api/v1/themes", headers={"Authorization": f"Bearer {plain}"})
    assert answer.status_code == 200


def test_create_refuses_an_unknown_email_unless_asked_to_make_a_service_account(runner, client):
    refused = runner.invoke(args=["tokens", "create", "--email", "robot@jiaxing.gov.cn", "--name", "脚本"])
    assert refused.exit_code != 0 and "--create-account" in refused.output
    assert stored() == []
    made = runner.invoke(
        args=["tokens", "create", "--email", "robot@jiaxing.gov.cn", "--name", "脚本", "--create-account"]
    )
    assert made.exit_code == 0, made.output
    account = db.session.scalar(select(User).where(User.email == "robot@jiaxing.gov.cn"))
    assert account.role == DEVELOPER and account.password_hash == "!"  # no password opens it
    assert actions.authenticate("robot@jiaxing.gov.cn", "!") is None
    assert client.get("/api/v1/themes", headers={"X-API-Key": made.stdout.strip()}).status_code == 200


def test_create_refuses_a_deactivated_account(runner):
    user = make_user("developer")
    user.active = False
    db.session.commit()
    result = runner.invoke(args=["tokens", "create", "--email", user.email, "--name", "脚本"])
    assert result.exit_code != 0 and "deactivated" in result.output
    assert stored() == []


@pytest.mark.parametrize("by", ["id", "prefix", "plain"])
def test_revoke_by_id_or_prefix_ends_the_token(runner, client, by):
    user = make_user("developer")
    token, plain = tokens.create_token(user, "脚本")
    db.session.commit()
    ref = {"id": str(token.id), "prefix": token.prefix, "plain": plain}[by]
    result = runner.invoke(args=["tokens", "revoke", ref])
    assert result.exit_code == 0, result.output
    assert stored()[0].revoked_at is not None
    assert client.get("/api/v1/themes", headers={"X-API-Key": plain}).status_code == 401


@pytest.mark.parametrize("ref", ["999999", "jxod_nothing", "jxod"])
def test_revoke_of_an_unknown_token_fails_and_changes_nothing(runner, ref):
    user = make_user("developer")
    tokens.create_token(user, "脚本")
    db.session.commit()
    result = runner.invoke(args=["tokens", "revoke", ref])
    assert result.exit_code != 0
    assert stored()[0].revoked_at is None


def test_a_user_holds_at_most_the_configured_number_of_active_tokens(client, login, make_app):
    user = login("developer")
    for n in range(10):
        tokens.create_token(user, f"令牌{n}")
    db.session.commit()
    refused = client.post("/account/api-tokens", data={"name": "第十一个"})
    assert refused.status_code == 400
    assert len(stored()) == 10
    tokens.revoke(stored()[0], by=user)
    db.session.commit()
    assert client.post("/account/api-tokens", data={"name": "第十一个"}).status_code == 200
    assert sum(t.revoked_at is None for t in stored()) == 10


def test_the_cap_is_a_setting_and_holds_for_the_command_too(app, runner):
    user = make_user("developer")
    db.session.commit()
    app.config["API_TOKENS_PER_USER"] = 2
    results = [
        runner.invoke(args=["tokens", "create", "--email", user.email, "--name", f"脚本{n}"])
        for n in range(3)
    ]
    assert [r.exit_code for r in results] == [0, 0, 1]
    assert len(stored()) == 2
