"""Sessions end: sign-out, a password change, an admin's reset and deactivation end every copy of a user's
session and remember cookies; remember-me is short and SameSite; Secure cookies and HSTS behind TLS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from factories import PASSWORD, make_user
from sqlalchemy import select, update

from portal.accounts import sessions
from portal.accounts.models import User
from portal.extensions import db

REMEMBER = "remember_token"


def _signed_in_client(app, email: str, *, remember: bool = False):
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/account/sign-in", data=data)
    assert response.status_code == 302
    return client


def _copy(app, source, name: str):
    """A second client holding a copy of one of `source`'s cookies, as a thief would."""
    return _copy_value(app, name, source.get_cookie(name).value)


def _signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


@pytest.fixture
def user(app):
    user = make_user(email="wang@example.cn", display_name="王")
    db.session.commit()
    return user


def test_copied_session_cookie_is_refused_after_sign_out(app, user):
    owner = _signed_in_client(app, user.email)
    thief = _copy(app, owner, "session")
    assert _signed_in(thief)
    owner.post("/account/sign-out")
    assert not _signed_in(owner)
    assert not _signed_in(thief)


def _copy_value(app, name: str, value: str):
    client = app.test_client()
    client.set_cookie(name, value)
    return client


def test_remember_cookie_is_refused_after_sign_out(app, user):
    owner = _signed_in_client(app, user.email, remember=True)
    stolen = owner.get_cookie(REMEMBER).value
    assert _signed_in(_copy_value(app, REMEMBER, stolen))  # signed in by the remember cookie alone
    owner.post("/account/sign-out")
    assert not _signed_in(_copy_value(app, REMEMBER, stolen))


def test_password_change_ends_other_sessions_but_keeps_this_one(app, user):
    owner = _signed_in_client(app, user.email, remember=True)
    stolen_session = owner.get_cookie("session").value
    stolen_remember = owner.get_cookie(REMEMBER).value
    response = owner.post(
        "/account/password", data={"current": PASSWORD, "new": "Xinmima-2026", "confirm": "Xinmima-2026"}
    )
    assert response.status_code == 302
    assert _signed_in(owner)
    assert not _signed_in(_copy_value(app, "session", stolen_session))
    assert not _signed_in(_copy_value(app, REMEMBER, stolen_remember))
    # The owner's own remember cookie was renewed under the new epoch.
    assert _signed_in(_copy_value(app, REMEMBER, owner.get_cookie(REMEMBER).value))


def test_admin_reset_ends_the_users_sessions_and_remember_cookies(app, client, login, user):
    owner = _signed_in_client(app, user.email, remember=True)
    stolen_session = owner.get_cookie("session").value
    stolen_remember = owner.get_cookie(REMEMBER).value
    login("admin")
    assert client.post(f"/admin/users/{user.id}/reset-password").status_code == 200
    assert not _signed_in(owner)
    assert not _signed_in(_copy_value(app, "session", stolen_session))
    assert not _signed_in(_copy_value(app, REMEMBER, stolen_remember))
    assert _signed_in(client)  # the admin's own session goes on


def test_reactivation_does_not_revive_old_cookies(app, client, login, user):
    owner = _signed_in_client(app, user.email, remember=True)
    login("admin")
    client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert not _signed_in(owner)
    assert not _signed_in(_copy_value(app, REMEMBER, owner.get_cookie(REMEMBER).value))
    assert _signed_in(_signed_in_client(app, user.email))


def test_session_id_written_before_epochs_counts_as_epoch_zero(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    assert _signed_in(client)
    sessions.end_sessions(user)
    db.session.commit()
    assert not _signed_in(client)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12:3", (12, 3)),
        ("12", (12, 0)),
        ("12:", None),
        (":3", None),
        ("1²:0", None),
        ("12:٣", None),
        ("99999999999:0", None),
        ("2147483648:0", None),
        ("12:2147483648", None),
        ("-1:0", None),
        ("12:3:4", None),
        ("", None),
    ],
)
def test_parse_session_id(value, expected):
    assert sessions.parse_session_id(value) == expected


@pytest.mark.parametrize("value", ["99999999999999999999:0", "1²", "x:y", "5:-1"])
def test_malformed_session_id_is_signed_out_not_an_error(app, value):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = value
    assert client.get("/account/").status_code == 302


def _set_cookie(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def test_remember_cookie_lasts_fourteen_days_and_is_same_site_lax(app, user):
    client = app.test_client()
    response = client.post(
        "/account/sign-in", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    header = _set_cookie(response, REMEMBER)
    attributes = {part.split("=")[0].strip().lower(): part for part in header.split(";")}
    expires = parsedate_to_datetime(attributes["expires"].split("=", 1)[1])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=14))) < timedelta(minutes=5)
    assert attributes["samesite"].strip() == "SameSite=Lax"
    assert "httponly" in attributes
    assert "secure" not in attributes  # plain HTTP by default
    assert "Secure" not in _set_cookie(response, "session")
    assert "Strict-Transport-Security" not in response.headers


def test_remember_duration_is_a_setting(make_app, user):
    app = make_app(REMEMBER_COOKIE_DURATION=timedelta(days=3))
    response = app.test_client().post(
        "/account/sign-in", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    expires = parsedate_to_datetime(_set_cookie(response, REMEMBER).split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)


def test_behind_tls_cookies_are_secure_and_answers_carry_hsts(make_app, user):
    app = make_app(PREFERRED_URL_SCHEME="https")
    client = app.test_client()
    response = client.post(
        "/account/sign-in",
        data={"email": user.email, "password": PASSWORD, "remember": "y"},
        base_url="https://localhost",
    )
    assert "; Secure" in _set_cookie(response, "session")
    assert "; Secure" in _set_cookie(response, REMEMBER)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert (
        client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]
        == "max-age=31536000"
    )


def test_ending_sessions_increments_the_stored_epoch_not_a_stale_copy(app, user):
    # Another request raised the epoch behind this object's back: ours still holds the old value.
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_epoch=5)
        .execution_options(synchronize_session=False)
    )
    sessions.end_sessions(user)
    db.session.commit()
    assert db.session.scalar(select(User.session_epoch).where(User.id == user.id)) == 6


def test_an_https_public_base_url_also_makes_cookies_secure_with_hsts(make_app, user):
    app = make_app(PUBLIC_BASE_URL="https://localhost")
    response = app.test_client().post(
        "/account/sign-in",
        data={"email": user.email, "password": PASSWORD},
        base_url="https://localhost",
    )
    assert "; Secure" in _set_cookie(response, "session")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_password_page_says_the_change_signs_out_other_devices(client, login):
    login("developer")
    page = client.get("/account/password").get_data(as_text=True)
    assert "其他所有设备上的登录都会退出" in page
    assert "不能是常见密码" in page
