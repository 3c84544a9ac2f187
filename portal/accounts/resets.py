"""Password reset by email: a signed link that works once, for a limited time.

The link carries a token signed with the app's secret (itsdangerous) whose payload names the user, their
session epoch and a digest of their password hash. Setting a new password changes both, and so does any
other password change, an admin's reset or signing out: the token then no longer matches and is refused.
Nothing is stored, so there is nothing to clean up; the signature's timestamp bounds its age.

These functions add and flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from portal.accounts import sessions
from portal.accounts.models import User
from portal.accounts.passwords import password_problem
from portal.extensions import db
from portal.refusals import Refusal

SALT = "password-reset"
MAX_TOKEN_LENGTH = 400  # ours are about 110 characters; longer ones are not ours


class ResetError(Refusal):
    """A reset link cannot be used; the message is shown to the user."""


class LinkInvalid(ResetError):
    pass


class LinkExpired(ResetError):
    pass


class WeakPassword(ResetError):
    pass


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def _fingerprint(user: User) -> str:
    """A digest of the password hash: changes with the password, and does not put the hash in the link."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_token(user: User, *, secret: str) -> str:
    """Return a token that lets `user` set a new password until their password or sessions change."""
    return _serializer(secret).dumps({"u": user.id, "e": user.session_epoch, "p": _fingerprint(user)})


def user_for_token(token: str, *, secret: str, max_age: timedelta) -> User:
    """Return the active user `token` was made for; raise LinkExpired or LinkInvalid."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkInvalid(_l("This reset link is not valid. Ask for a new one."))
    try:
        payload = _serializer(secret).loads(token, max_age=max_age.total_seconds())
    except SignatureExpired:
        raise LinkExpired(_l("This reset link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise LinkInvalid(_l("This reset link is not valid. Ask for a new one.")) from None
    user = _user(payload)
    if (
        user is None
        or not user.active
        or payload.get("e") != user.session_epoch
        or not hmac.compare_digest(str(payload.get("p", "")), _fingerprint(user))
    ):
        # Used already, or the password or sessions changed since it was sent.
        raise LinkInvalid(_l("This reset link has been used or is no longer valid. Ask for a new one."))
    return user


def _user(payload: object) -> User | None:
    if not isinstance(payload, dict):
        return None
    user_id = payload.get("u")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**31:
        return None
    return db.session.get(User, user_id)


def set_password(user: User, new: str, *, min_length: int) -> None:
    """Give `user` the password `new` after checking the password rules; end every session of theirs."""
    problem = password_problem(new, min_length=min_length, email=user.email, name=user.display_name)
    if problem:
        raise WeakPassword(problem)
    user.password_hash = generate_password_hash(new)
    sessions.end_sessions(user)  # a session stolen before the reset dies with the old password
