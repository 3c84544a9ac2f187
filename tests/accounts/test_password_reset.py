"""Forgot password: a reset link by email that works once and for a while, answers that do not tell who is
registered, throttles per client and per email, and hostile links refused with a 4xx."""

from __future__ import annotations

import email
import re
import time
from email import policy
from pathlib import Path

import pytest
from factories import PASSWORD, make_user
from itsdangerous import URLSafeTimedSerializer
from werkzeug.security import check_password_hash

from portal.accounts import resets
from portal.accounts.models import User
from portal.extensions import db

NEW_PASSWORD = "南湖-harbour-47x"
LINK = re.compile(r"http://localhost(/account/reset-password/[A-Za-z0-9_.\-]+)")
pytestmark = pytest.mark.usefixtures("app")


def _mails(app) -> list[email.message.EmailMessage]:
    folder = Path(app.instance_path) / "mail"
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))
    ]


def _ask(client, address: str, **kwargs):
    # buffered: the test client then closes the answer as a server does, which sends the mail
    return client.post("/account/forgot-password", data={"email": address}, buffered=True, **kwargs)


def _link(message) -> str:
    return LINK.search(message.get_content()).group(1)


def _set(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(path, data={"new": password, "confirm": confirm or password})


def test_sign_in_page_links_to_forgot_password(client):
    assert 'href="/account/forgot-password"' in client.get("/account/sign-in").text


def test_reset_mail_carries_a_link_that_sets_the_password_once(app, client):
    user = make_user(email="reset@example.cn")
    db.session.commit()
    answer = _ask(client, "Reset@Example.cn")
    assert answer.status_code == 302 and answer.location.endswith("/account/sign-in")
    (message,) = _mails(app)
    assert message["To"] == "reset@example.cn"
    assert message["Subject"] == "重置您在嘉兴市公共数据开放平台的密码"
    assert "60 分钟内有效" in message.get_content()
    path = _link(message)
    assert client.get(path).status_code == 200
    assert _set(client, path).status_code == 302
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, user.id).password_hash, NEW_PASSWORD)
    used = client.get(path)
    assert used.status_code == 400 and "已使用" in used.text
    assert _set(client, path, "another-pass-Q9").status_code == 400
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, user.id).password_hash, NEW_PASSWORD)


def test_reset_ends_every_other_session(app, client):
    user = make_user(email="sessions@example.cn")
    db.session.commit()
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    assert other.get("/account/").status_code == 200
    _ask(client, "sessions@example.cn")
    assert _set(client, _link(_mails(app)[0])).status_code == 302
    assert other.get("/account/").status_code == 302  # signed out: the epoch moved


def test_english_visitor_gets_the_english_message(app, client):
    make_user(email="english@example.cn")
    db.session.commit()
    client.set_cookie("lang", "en")
    _ask(client, "english@example.cn")
    (message,) = _mails(app)
    assert message["Subject"] == "Reset your password on the Jiaxing Open Data Platform"
    assert "works once, for 60 minutes" in message.get_content()


def test_unknown_and_known_emails_get_the_same_answer(app, client):
    make_user(email="known@example.cn")
    db.session.commit()
    pages = []
    for address in ("known@example.cn", "nobody@example.cn"):
        visitor = app.test_client()
        answer = _ask(visitor, address)
        flashes = re.findall(r'<p class="flash[^"]*">[^<]*</p>', visitor.get(answer.location).text)
        pages.append((answer.status_code, answer.location, answer.headers.get("Set-Cookie") is None, flashes))
    assert pages[0] == pages[1]
    assert "如果该邮箱属于某个账号" in pages[0][3][0]
    assert [m["To"] for m in _mails(app)] == ["known@example.cn"]


def test_deactivated_account_gets_no_mail(app, client):
    make_user(email="gone@example.cn", active=False)
    db.session.commit()
    assert _ask(client, "gone@example.cn").status_code == 302
    assert _mails(app) == []


def test_link_expires(app, client):
    user = make_user(email="late@example.cn")
    db.session.commit()
    token = resets.make_token(user, secret=app.config["SECRET_KEY"])
    app.config["PASSWORD_RESET_MAX_AGE"] = app.config["PASSWORD_RESET_MAX_AGE"].__class__(seconds=1)
    time.sleep(2.1)  # itsdangerous timestamps are whole seconds
    expired = client.get(f"/account/reset-password/{token}")
    assert expired.status_code == 400 and "已过期" in expired.text
    assert _set(client, f"/account/reset-password/{token}").status_code == 400


def test_link_dies_when_the_password_changes_another_way(app, client):
    user = make_user(email="changed@example.cn")
    db.session.commit()
    token = resets.make_token(user, secret=app.config["SECRET_KEY"])
    user.password_hash = "pbkdf2:sha256:1$x$y"
    db.session.commit()
    assert client.get(f"/account/reset-password/{token}").status_code == 400


def test_link_dies_when_the_user_signs_out(app, client):
    user = make_user(email="signedout@example.cn")
    db.session.commit()
    token = resets.make_token(user, secret=app.config["SECRET_KEY"])
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    client.post("/account/sign-out")
    assert client.get(f"/account/reset-password/{token}").status_code == 400


def test_tampered_or_foreign_tokens_are_refused(app, client):
    user = make_user(email="tamper@example.cn")
    victim = make_user(email="victim@example.cn")
    db.session.commit()
    token = resets.make_token(user, secret=app.config["SECRET_KEY"])
    payload, _, rest = token.partition(".")
    other_payload = resets.make_token(victim, secret=app.config["SECRET_KEY"]).partition(".")[0]
    forged = URLSafeTimedSerializer("not-our-secret", salt=resets.SALT).dumps(
        {"u": victim.id, "e": victim.session_epoch, "p": "0" * 16}
    )
    wrong_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other").dumps({"u": victim.id})
    for bad in (f"{other_payload}.{rest}", token[:-2] + "AA", forged, wrong_salt, "x", "a" * 5000):
        answer = client.post(
            f"/account/reset-password/{bad}", data={"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert answer.status_code in (400, 404), bad
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, victim.id).password_hash, PASSWORD)


@pytest.mark.parametrize(
    "payload",
    [[], "1", {"u": "1"}, {"u": True}, {"u": 2**40}, {"u": -1}, {"u": None}, {}],
)
def test_signed_payloads_of_the_wrong_shape_are_refused(app, client, payload):
    token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=resets.SALT).dumps(payload)
    assert client.get(f"/account/reset-password/{token}").status_code == 400


def test_new_password_follows_the_password_rules(app, client):
    user = make_user(email="rules@example.cn")
    db.session.commit()
    path = f"/account/reset-password/{resets.make_token(user, secret=app.config['SECRET_KEY'])}"
    weak = _set(client, path, "password123")
    assert weak.status_code == 400 and 'id="new-error"' in weak.text
    assert _set(client, path, NEW_PASSWORD, "different-Q9-x").status_code == 400
    assert _set(client, path, "x" * 129).status_code == 400
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, user.id).password_hash, PASSWORD)
    assert _set(client, path).status_code == 302  # the link still works after refused attempts


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": ""},
        {"email": "not an email"},
        {"email": "a@" + "b" * 300 + ".cn"},
        {"email": ["a", "b"]},
    ],
)
def test_malformed_requests_are_400_and_send_nothing(app, client, data):
    make_user(email="a@example.cn")
    db.session.commit()
    assert client.post("/account/forgot-password", data=data, buffered=True).status_code == 400
    assert _mails(app) == []


def test_requests_are_throttled_per_email_from_any_address(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_PASSWORD_RESET="100 per hour",
        RATELIMIT_PASSWORD_RESET_ACCOUNT="2 per hour",
    )
    with app.app_context():
        make_user(email="flood@example.cn")
        db.session.commit()
        client = app.test_client()
        codes = [
            _ask(client, "Flood@example.cn", environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}).status_code
            for n in range(1, 4)
        ]
        assert codes == [302, 302, 429]
        assert len(_mails(app)) == 2
        # an unknown email is throttled the same way: the 429 tells nothing about who is registered
        unknown = [_ask(client, "ghost@example.cn").status_code for _ in range(3)]
        assert unknown == [302, 302, 429]
        assert _ask(client, "other@example.cn").status_code == 302


def test_requests_are_throttled_per_client(make_app):
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_PASSWORD_RESET="3 per hour",
        RATELIMIT_PASSWORD_RESET_ACCOUNT="100 per hour",
    )
    with app.app_context():
        client = app.test_client()
        here = {"environ_base": {"REMOTE_ADDR": "203.0.113.5"}}
        codes = [_ask(client, f"n{n}@example.cn", **here).status_code for n in range(4)]
        assert codes == [302, 302, 302, 429]
        assert _ask(client, "n9@example.cn", environ_base={"REMOTE_ADDR": "203.0.113.6"}).status_code == 302


def test_with_redis_a_worker_sends_the_link_and_no_token_is_stored_with_the_job(make_app):
    import redis
    from rq import Queue, SimpleWorker
    from sqlalchemy import select

    from portal.jobs import registry
    from portal.jobs.models import JobRecord

    url = "redis://127.0.0.1:6379/11"
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    app = make_app(REDIS_URL=url)
    with app.app_context():
        make_user(email="queued@example.cn")
        db.session.commit()
        client = app.test_client()
        assert _ask(client, "queued@example.cn").status_code == 302
        assert _mails(app) == []  # queued for a worker, not sent by the web process
        (record,) = db.session.scalars(select(JobRecord).where(JobRecord.name == "accounts.reset_mail"))
        assert set(record.params) == {"user_id", "locale", "base_url"}
        SimpleWorker([Queue(q, connection=conn) for q in registry.QUEUES], connection=conn).work(burst=True)
        (message,) = _mails(app)
        assert _set(client, _link(message)).status_code == 302
    conn.flushdb()
