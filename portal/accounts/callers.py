"""Who calls by token: the user whose API token the request carries, or nobody, or a refused token.

A token comes in `Authorization: Bearer <token>` or `X-API-Key: <token>`; on the CKAN-compatible
routes also as CKAN clients send it (`Authorization: <token>`, `X-CKAN-API-Key`). A token that is
presented but unknown, revoked or of a deactivated user is refused, never taken as anonymous. The API's
hooks and budgets (`portal/api/auth.py`) and token downloads of the catalogue read the caller here.
"""

from __future__ import annotations

from flask import g, request

from portal.accounts import tokens
from portal.accounts.models import ApiToken, User

_INVALID = object()  # a token was presented but refused
_SUSPENDED = object()  # a valid token, suspended past a usage limit until an admin lifts it


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
    """Return (user or None or _INVALID or _SUSPENDED, rate-limit key of the user), once per request."""
    if "api_caller" not in g:
        plain = presented_token()
        token = tokens.lookup(plain) if plain is not None else None
        g.api_token = token
        if plain is None:
            g.api_caller = (None, None)
        elif token is None:
            g.api_caller = (_INVALID, None)
        elif token.is_suspended:
            g.api_caller = (_SUSPENDED, None)
        else:
            # One budget per user, not per token: more tokens must not mean more calls.
            g.api_caller = (token.user, f"user:{token.user_id}")
    return g.api_caller


def user() -> User | None:
    """Return the user whose valid token the request carries, or None."""
    found, _ = _identify()
    return found if isinstance(found, User) else None


def token() -> ApiToken | None:
    """Return the valid, unsuspended token the request carries, or None."""
    return g.api_token if user() is not None else None


def has_invalid_token() -> bool:
    return _identify()[0] is _INVALID


def suspended_token() -> ApiToken | None:
    """Return the token the request carries when it is suspended (the caller answers 403), else None."""
    return g.api_token if _identify()[0] is _SUSPENDED else None


def suspension_message(token: ApiToken) -> str:
    """Tell an API client why its token is refused and what to do, in English like the API's messages."""
    when = token.suspended_at.strftime("%Y-%m-%d %H:%M UTC") if token.suspended_at else ""
    return (
        f"The API token {token.prefix}… was suspended on {when}: {token.suspension_reason} "
        "An administrator of the portal must lift the suspension; its owner sees it on /account/api-tokens."
    )


def key() -> str:
    """Return the rate-limit key of the token's user ("user:<id>"), or "" without a valid token."""
    return _identify()[1] or ""
