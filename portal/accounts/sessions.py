"""Sessions end together: the user's session epoch is part of the id in every session and remember cookie.

Flask's sessions live in signed cookies, so the server cannot forget one; instead each cookie carries
"<user id>:<epoch>" (`User.get_id`) and is honoured only while the user's epoch is unchanged. Signing out,
changing or resetting a password and deactivation raise the epoch: every copy of every cookie of that user,
on any device, stops working at once.
"""

from __future__ import annotations

from flask import Flask
from flask.globals import _cv_app, _cv_request
from flask.sessions import SecureCookieSessionInterface
from flask_login.utils import _get_user

from portal.accounts.models import User
from portal.extensions import db, login_manager
from portal.wrappers import header_names

_MAX_ID = 2**31 - 1  # database integers; larger values are not ours


def parse_session_id(value: str) -> tuple[int, int] | None:
    """Split "<id>:<epoch>" into numbers; a bare "<id>" (cookies from before epochs) is epoch 0."""
    id_part, separator, epoch_part = value.partition(":")
    parts = (id_part, epoch_part) if separator else (id_part, "0")
    if not all(p.isascii() and p.isdigit() and len(p) <= 10 for p in parts):
        return None
    user_id, epoch = int(parts[0]), int(parts[1])
    if user_id > _MAX_ID or epoch > _MAX_ID:
        return None
    return user_id, epoch


def load_user(value: str) -> User | None:
    """Return the active user a cookie's id names, if its epoch is still the user's."""
    parsed = parse_session_id(value)
    if parsed is None:
        return None
    user = db.session.get(User, parsed[0])
    if user is None or not user.active or user.session_epoch != parsed[1]:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session and remember cookie of `user`; the caller commits.

    The increment happens in SQL, so two requests ending sessions at once cannot both write the same epoch.
    """
    user.session_epoch = User.session_epoch + 1
    db.session.flush()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that sends no cookie
    (most anonymous page views): its session is empty either way."""

    def open_session(self, app: Flask, request):
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        """Flask's, without reading its seven cookie settings for an empty session left unchanged (every
        anonymous page view): no cookie is set then, and the page only says that it varies by cookie."""
        if session or session.modified:
            super().save_session(app, session, response)
        elif session.accessed:
            if "vary" in header_names(response.headers):
                response.vary.add("Cookie")
            else:  # what the line above writes, without parsing and dumping a header set
                response.headers.add("Vary", "Cookie")


def anonymous_without_cookies() -> None:
    """Take a request with neither a session nor a remember cookie as anonymous at once (a before-request
    hook): Flask-Login would reach the same answer after hashing the client's address and agent for
    session protection and looking for cookies it does not have (issue 20)."""
    context = _cv_request.get()  # the request and app without their proxies' calls
    config, cookies = context.app.config, context.request.cookies
    if (
        config["SESSION_COOKIE_NAME"] not in cookies
        and config.get("REMEMBER_COOKIE_NAME", "remember_token") not in cookies
    ):
        # set in g's dict: its __setattr__ is a call more (issue 20)
        _cv_app.get().g.__dict__["_login_user"] = login_manager.anonymous_user()


def current_user_for_templates() -> dict:
    """Flask-Login's context processor (`current_user` in templates), reading g without its proxy."""
    context = _cv_app.get(None)
    user = None if context is None else vars(context.g).get("_login_user")
    return {"current_user": user if user is not None else _get_user()}


def remember_cookie_hook(app: Flask, update):
    """Flask-Login's after-request hook `update` (it sets or clears the remember cookie as the session
    asks), skipped for a request whose session is empty, where it does nothing: most page views."""
    config = app.config

    def update_remember_cookie(response):
        context = _cv_request.get(None)
        if (
            context is not None
            and not context.session
            and not config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
        ):
            return response
        return update(response)

    return update_remember_cookie
