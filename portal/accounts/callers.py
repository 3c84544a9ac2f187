"""Who calls by token: the user whose API token the request carries, or nobody, or a refused token.

A token comes in `Authorization: Bearer <token>` or `X-API-Key: <token>`; on the CKAN-compatible
routes also as CKAN clients send it (`Authorization: <token>`, `X-CKAN-API-Key`). A token that is
presented but unknown, revoked or of a deactivated user is refused, never taken as anonymous. The API's
hooks and budgets (`portal/api/auth.py`) and token downloads of the catalogue read the caller here.
"""

from __future__ import annotations

from flask.globals import _cv_app, _cv_request

from portal.accounts import tokens
from portal.accounts.models import ApiToken, User

_INVALID = object()  # a token was presented but refused
_SUSPENDED = object()  # a valid token, suspended past a usage limit until an admin lifts it


def presented_token() -> str | None:
    """Return the token the request carries, or None."""
    return _presented(_cv_request.get().request)


def _presented(req) -> str | None:
    """`presented_token` of `req`, its headers read from its WSGI environ as `req.headers.get` reads them
    (a call per header through the request's proxy and EnvironHeaders; issue 16)."""
    environ = req.environ
    scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if req.blueprint == "ckan":  # ckanapi sends the bare token in both headers
        if scheme and not value:
            return scheme
        ckan_key = environ.get("HTTP_X_CKAN_API_KEY", "").strip()
        if ckan_key:
            return ckan_key
    return environ.get("HTTP_X_API_KEY", "").strip() or None


def _identify() -> tuple[User | object | None, str | None]:
    """Return (user or None or _INVALID or _SUSPENDED, rate-limit key of the user), once per request.
    `g` is read in its own dict: the API's hooks ask this five times a call, and `g`'s proxy and its
    `__contains__` were three calls at each (issue 16)."""
    flags = _cv_app.get().g.__dict__
    found = flags.get("api_caller")
    if found is None:
        plain = _presented(_cv_request.get().request)
        token = tokens.lookup(plain) if plain is not None else None
        flags["api_token"] = token
        if plain is None:
            found = (None, None)
        elif token is None:
            found = (_INVALID, None)
        elif token.is_suspended:
            found = (_SUSPENDED, None)
        else:
            # One budget per user, not per token: more tokens must not mean more calls.
            found = (token.user, f"user:{token.user_id}")
        flags["api_caller"] = found
    return found


def user() -> User | None:
    """Return the user whose valid token the request carries, or None."""
    found, _ = _identify()
    return found if isinstance(found, User) else None


def token() -> ApiToken | None:
    """Return the valid, unsuspended token the request carries, or None."""
    return _cv_app.get().g.__dict__["api_token"] if user() is not None else None


def has_invalid_token() -> bool:
    return _identify()[0] is _INVALID


def suspended_token() -> ApiToken | None:
    """Return the token the request carries when it is suspended (the caller answers 403), else None."""
    return _cv_app.get().g.__dict__["api_token"] if _identify()[0] is _SUSPENDED else None


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
