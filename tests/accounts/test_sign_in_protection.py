"""Sign-in protection: throttles per account and per client (behind trusted proxies, shared through Redis),
one password hash per attempt whether or not the email is known, and a sign-up that does not tell who is
registered."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from factories import PASSWORD, make_user
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from portal.accounts import actions
from portal.accounts.models import User
from portal.extensions import db

REDIS_URL = "redis://127.0.0.1:6379/5"
TESTS = Path(__file__).resolve().parents[1]  # where testconfig.py lives
# Tests that build their own app (make_app) leave rows behind; the app fixture's teardown empties the tables.
pytestmark = pytest.mark.usefixtures("app")


def _sign_in(client, email: str, password: str = "wrong-pass-1", **kwargs) -> int:
    return client.post("/account/sign-in", data={"email": email, "password": password}, **kwargs).status_code


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_failed_sign_ins_to_one_account_are_throttled_across_addresses(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="100 per minute", RATELIMIT_SIGN_IN_ACCOUNT="3 per minute"
    )
    with app.app_context():
        make_user(email="target@example.cn")
        db.session.commit()
        client = app.test_client()
        codes = [_sign_in(client, "Target@example.cn", **_from(f"198.51.100.{n}")) for n in range(1, 5)]
        assert codes == [400, 400, 400, 429]
        assert _sign_in(client, "target@example.cn", PASSWORD, **_from("198.51.100.9")) == 429
        assert (
            _sign_in(client, "other@example.cn", **_from("198.51.100.1")) == 400
        )  # other accounts unaffected


def test_successful_sign_ins_do_not_use_up_the_account_throttle(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="100 per minute", RATELIMIT_SIGN_IN_ACCOUNT="2 per minute"
    )
    with app.app_context():
        make_user(email="busy@example.cn")
        db.session.commit()
        client = app.test_client()
        for _ in range(4):
            assert _sign_in(client, "busy@example.cn", PASSWORD) == 302
            client.post("/account/sign-out")


def test_password_change_guesses_share_the_accounts_sign_in_throttle(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="100 per minute", RATELIMIT_SIGN_IN_ACCOUNT="3 per minute"
    )
    with app.app_context():
        make_user(email="victim@example.cn")
        db.session.commit()
        stolen = app.test_client()
        assert _sign_in(stolen, "victim@example.cn", PASSWORD) == 302
        guesses = {"current": "guess-guess-1", "new": "Xinmima-2026", "confirm": "Xinmima-2026"}
        assert [stolen.post("/account/password", data=guesses).status_code for _ in range(2)] == [400, 400]
        assert _sign_in(app.test_client(), "victim@example.cn", **_from("198.51.100.3")) == 400
        assert stolen.post("/account/password", data=guesses).status_code == 429
        assert _sign_in(app.test_client(), "victim@example.cn", PASSWORD, **_from("198.51.100.4")) == 429


def test_per_client_throttle_uses_the_forwarded_address_of_a_trusted_proxy(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_SIGN_IN="2 per minute",
        RATELIMIT_SIGN_IN_ACCOUNT="100 per minute",
        PROXY_COUNT=1,
    )
    with app.app_context():
        client = app.test_client()

        def via_proxy(forwarded_for: str) -> int:
            headers = {"X-Forwarded-For": forwarded_for}
            return _sign_in(client, f"{uuid.uuid4().hex}@example.cn", headers=headers, **_from("10.0.0.2"))

        # The proxy appends the client's address; whatever a client puts before it is not trusted.
        assert [via_proxy(f"192.0.2.{n}, 203.0.113.5") for n in range(3)] == [400, 400, 429]
        assert via_proxy("203.0.113.6") == 400  # another client behind the same proxy has its own bucket


def test_without_trusted_proxies_forwarded_addresses_are_ignored(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="2 per minute", RATELIMIT_SIGN_IN_ACCOUNT="100 per minute"
    )
    with app.app_context():
        client = app.test_client()
        codes = [
            _sign_in(
                client, f"u{n}@example.cn", headers={"X-Forwarded-For": f"203.0.113.{n}"}, **_from("10.0.0.2")
            )
            for n in range(3)
        ]
        assert codes == [400, 400, 429]


def test_trusted_proxy_sets_the_scheme_from_x_forwarded_proto(make_app):
    app = make_app(PROXY_COUNT=1)

    @app.get("/_scheme")
    def scheme():
        from flask import request

        return request.scheme

    response = app.test_client().get("/_scheme", headers={"X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == "https"


_OTHER_PROCESS = """
import json, sys
sys.path.insert(0, {tests!r})
from testconfig import app_config
from portal import create_app
from pathlib import Path
config = {{**app_config({database!r}, Path({instance!r})), **json.loads({settings!r})}}
app = create_app(config)
with app.app_context():
    client = app.test_client()
    data = {{"email": "shared@example.cn", "password": "wrong-pass-1"}}
    sent = [client.post("/account/sign-in", data=data, environ_base={{"REMOTE_ADDR": f"198.51.100.{{n}}"}})
            for n in range(2)]
    codes = [response.status_code for response in sent]
print(json.dumps(codes))
"""


def test_throttles_are_shared_between_app_processes_through_redis(make_app, database_url, tmp_path):
    prefix = f"portal-test-{uuid.uuid4().hex}"
    settings = {
        "RATELIMIT_ENABLED": True,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "RATELIMIT_SIGN_IN": "100 per minute",
        "RATELIMIT_SIGN_IN_ACCOUNT": "3 per minute",
    }
    script = _OTHER_PROCESS.format(
        tests=str(TESTS),
        database=database_url,
        instance=str(tmp_path / "other"),
        settings=json.dumps(settings),
    )
    try:
        other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout.strip().splitlines()[-1]) == [400, 400]
        app = make_app(**settings)
        with app.app_context():
            client = app.test_client()
            codes = [_sign_in(client, "shared@example.cn", **_from(f"198.51.100.{n}")) for n in (7, 8)]
        assert codes == [400, 429]  # the other process's two failures count here
    finally:
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


@pytest.fixture
def hash_checks(monkeypatch):
    calls = []
    real = actions.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(actions, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize("case", ["unknown email", "wrong password", "deactivated", "right password"])
def test_every_sign_in_checks_exactly_one_password_hash(client, hash_checks, case):
    make_user(email="known@example.cn")
    make_user(email="gone@example.cn", active=False)
    db.session.commit()
    email, password = {
        "unknown email": ("nobody@example.cn", "wrong-pass-1"),
        "wrong password": ("known@example.cn", "wrong-pass-1"),
        "deactivated": ("gone@example.cn", PASSWORD),
        "right password": ("known@example.cn", PASSWORD),
    }[case]
    expected = 302 if case == "right password" else 400
    assert _sign_in(client, email, password) == expected
    assert len(hash_checks) == 1


def test_unknown_emails_are_checked_against_a_hash_of_the_same_cost(client, hash_checks):
    _sign_in(client, "nobody@example.cn")
    method = hash_checks[0].split("$")[0]
    assert method == generate_password_hash("x").split("$")[0]  # e.g. scrypt:32768:8:1, not a cheap stand-in


def _session_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def test_sign_up_answers_a_taken_email_exactly_as_a_new_one(app):
    owner = make_user(email="dev@example.cn")
    db.session.commit()
    before = (owner.password_hash, owner.display_name)
    answers = []
    for email in ("DEV@Example.cn", "new@example.cn"):
        client = app.test_client()
        response = _sign_up(client, email=email)
        answers.append((response.status_code, response.headers["Location"], _session_of(client)))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (302, "/account/sign-in")
    assert "_user_id" not in answers[0][2]  # nobody is signed in by sign-up
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
    db.session.refresh(owner)
    assert (owner.password_hash, owner.display_name) == before  # the owner's account is untouched


def test_sign_up_hashes_the_password_for_a_taken_email_too(app, monkeypatch):
    make_user(email="dev@example.cn")
    db.session.commit()
    calls = []
    real = actions.generate_password_hash
    monkeypatch.setattr(actions, "generate_password_hash", lambda p: calls.append(p) or real(p))
    _sign_up(app.test_client(), email="dev@example.cn")
    _sign_up(app.test_client(), email="new@example.cn")
    assert len(calls) == 2


def test_sign_up_refuses_a_weak_password_alike_for_taken_and_new_emails(app):
    make_user(email="dev@example.cn")
    db.session.commit()
    pages = []
    for email in ("dev@example.cn", "new@example.cn"):
        response = _sign_up(app.test_client(), email=email, password="password12", confirm="password12")
        assert response.status_code == 400
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        pages.append(re.sub(r'value="[\w.-]{40,}"', "TOKEN", page))  # per-session CSRF tokens differ
    assert pages[0] == pages[1]


def test_new_account_from_sign_up_then_signs_in(client):
    _sign_up(client, email="new@example.cn")
    response = client.get("/account/sign-in")
    assert "注册申请已收到" in response.get_data(as_text=True)
    assert _sign_in(client, "new@example.cn", "Shujukaifang-2026") == 302
    user = db.session.scalar(select(User).where(User.email == "new@example.cn"))
    assert (user.role, user.display_name) == ("developer", "王开发")


def test_sign_up_is_throttled_per_client(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGN_UP="2 per hour")
    with app.app_context():
        client = app.test_client()
        codes = [_sign_up(client, email=f"n{n}@example.cn").status_code for n in range(3)]
    assert codes == [302, 302, 429]


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
