"""Who calls the API: a developer's token, or nobody; and how fast each may call.

A token comes in `Authorization: Bearer <token>` or `X-API-Key: <token>`; on the CKAN-compatible
routes also as CKAN clients send it (`Authorization: <token>`, `X-CKAN-API-Key`). A token that is
presented but unknown, revoked or of a deactivated user is refused, never taken as anonymous.

Rate limits are shared by both APIs: anonymous callers by IP address, token callers by token. The
limits are read from the app config, so tests and deployments can change them.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from flask_limiter.util import get_remote_address

from portal.accounts import tokens
from portal.accounts.models import User
from portal.extensions import limiter

ANONYMOUS_LIMIT = "60 per minute"
TOKEN_LIMIT = "600 per minute"
_INVALID = object()  # a token was presented but refused


def presented_token() -> str | None:
    """Return the token the request carries, or None."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.blueprint == "ckan":  # ckanapi sends the bare token in both headers
        if scheme and not value:
            return scheme
        if request.headers.get("X-CKAN-API-Key", "").strip():
            return request.headers["X-CKAN-API-Key"].strip()
    return request.headers.get("X-API-Key", "").strip() or None


def _identify() -> tuple[User | object | None, str | None]:
    """Return (user or None or _INVALID, rate-limit key of the token), once per request."""
    if "api_caller" not in g:
        plain = presented_token()
        if plain is None:
            g.api_caller = (None, None)
        else:
            user = tokens.authenticate(plain)
            key = tokens.hash_token(plain)[:24]  # names the token without keeping it: a budget per token
            g.api_caller = (user, key) if user is not None else (_INVALID, None)
    return g.api_caller


def user() -> User | None:
    """Return the user whose valid token the request carries, or None."""
    found, _ = _identify()
    return found if isinstance(found, User) else None


def has_invalid_token() -> bool:
    return _identify()[0] is _INVALID


def _has_valid_token() -> bool:
    return user() is not None


def _token_key() -> str:
    return f"token:{_identify()[1]}"


def _anonymous_limit() -> str:
    return current_app.config.get("API_RATELIMIT_ANONYMOUS", ANONYMOUS_LIMIT)


def _token_limit() -> str:
    return current_app.config.get("API_RATELIMIT_TOKEN", TOKEN_LIMIT)


def rate_limit(bp: Blueprint) -> None:
    """Put the API's shared limits on `bp`: one budget per IP address, or per token."""
    limiter.shared_limit(
        _anonymous_limit,
        scope="api-anonymous",
        key_func=get_remote_address,
        exempt_when=_has_valid_token,
        error_message=lambda: (
            f"Too many requests: {_anonymous_limit()} without a token. An API token allows more."
        ),
    )(bp)
    limiter.shared_limit(
        _token_limit,
        scope="api-token",
        key_func=_token_key,
        exempt_when=lambda: not _has_valid_token(),
        error_message=lambda: f"Too many requests: {_token_limit()} per token.",
    )(bp)
