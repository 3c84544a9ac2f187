"""API tokens: created for a user and shown once, stored only as a SHA-256 hash, revoked by their owner.

Functions add and flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from portal.accounts.models import ApiToken, User
from portal.audit import log as audit_log
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.refusals import Refusal

TOKEN_PREFIX = "jxod_"
PREFIX_LENGTH = 12  # the shown part, enough to tell a user's tokens apart
MAX_NAME = 60
MAX_TOKEN_LENGTH = 200
MAX_ACTIVE = 10  # default of API_TOKENS_PER_USER: active tokens a user may hold at once
# last_used_at is written at most this often per token, not on every API call.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenError(Refusal):
    """A rule about tokens was broken; the message is shown to the user."""


def hash_token(plain: str) -> str:
    """Return the hex SHA-256 of a token, as stored."""
    return hashlib.sha256(plain.encode()).hexdigest()


def create_token(user: User, name: str, *, max_active: int = MAX_ACTIVE) -> tuple[ApiToken, str]:
    """Create a token named `name` (1 to MAX_NAME characters) and return it with its plain text.

    The plain text is returned only here; the database keeps its hash and first PREFIX_LENGTH characters.
    A user holds at most `max_active` unrevoked tokens (all share one rate-limit budget anyway).
    """
    name = (name or "").strip()
    if not name:
        raise TokenError(_l("Give the token a name."))
    if len(name) > MAX_NAME:
        raise TokenError(_l("The name is longer than %(max)d characters.", max=MAX_NAME))
    if active_count(user) >= max_active:
        raise TokenError(
            _l("You already have %(max)d active tokens. Revoke one before creating another.", max=max_active)
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plain), prefix=plain[:PREFIX_LENGTH])
    db.session.add(token)
    db.session.flush()
    audit_log.record(db.session, "token.created", actor=user, object_type="api_token", object_id=token.id,
                     after={"name": name, "user_id": user.id})  # fmt: skip
    return token, plain


def active_count(user: User) -> int:
    """Return how many unrevoked tokens the user holds."""
    query = select(func.count()).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    return db.session.scalar(query) or 0


def revoke(token: ApiToken, by: User) -> None:
    """Revoke the token for good; only its owner may. Revoking twice changes nothing."""
    if token.user_id != by.id:
        raise TokenError(_l("You can only revoke your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit_log.record(db.session, "token.revoked", actor=by, object_type="api_token", object_id=token.id,
                         after={"name": token.name, "user_id": token.user_id})  # fmt: skip


def authenticate(plain: str) -> User | None:
    """Return the active user a usable token belongs to, or None for an unknown, revoked or suspended one.

    Sets the token's last_used_at (to the minute); the caller's commit writes it.
    """
    token = lookup(plain)
    return token.user if token is not None and not token.is_suspended else None


def lookup(plain: str) -> ApiToken | None:
    """Return the unrevoked token of an active user that `plain` is, suspended or not; else None.

    Sets a usable token's last_used_at (to the minute; a refused call of a suspended one is no use); the
    caller's commit writes it.
    """
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > MAX_TOKEN_LENGTH:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION
    if stale and not token.is_suspended:
        token.last_used_at = now
    return token


def tokens_of(user: User) -> Select:
    """Select the user's tokens: active ones first, then newest."""
    return (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
