"""Who calls the API: a developer's token, or nobody; and how fast each may call.

A token comes in `Authorization: Bearer <token>` or `X-API-Key: <token>`; on the CKAN-compatible
routes also as CKAN clients send it (`Authorization: <token>`, `X-CKAN-API-Key`). A token that is
presented but unknown, revoked or of a deactivated user is refused, never taken as anonymous.

Rate limits are shared by both APIs: anonymous callers by IP address, token callers by their user
(however many tokens the user holds, one budget). Each caller has two budgets: requests, and rows,
the datasets the calls ask for (`costs`). The limits are read from the app config, so tests and
deployments can change them. A refusal is a 429 with `Retry-After`, in the API's own envelope.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, g, request
from flask_limiter.util import get_remote_address

from portal.accounts import tokens
from portal.accounts.models import User
from portal.extensions import limiter

# Defaults of the settings of the same names in portal.config (API_RATELIMIT_*), for apps built
# without it; `costs.fits` checks that they let the standard tools read a 10,000-dataset catalogue.
ANONYMOUS_LIMIT = "60 per minute"  # requests per IP address
ANONYMOUS_ROWS_LIMIT = "6000 per minute"  # datasets asked for, per IP address: 60 pages of 100
TOKEN_LIMIT = "20000 per minute"  # requests per token holder (user)
TOKEN_ROWS_LIMIT = "30000 per minute"  # datasets asked for, per token holder
_DEFAULTS = {
    "API_RATELIMIT_ANONYMOUS": ANONYMOUS_LIMIT,
    "API_RATELIMIT_ANONYMOUS_ROWS": ANONYMOUS_ROWS_LIMIT,
    "API_RATELIMIT_TOKEN": TOKEN_LIMIT,
    "API_RATELIMIT_TOKEN_ROWS": TOKEN_ROWS_LIMIT,
}
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
    """Return (user or None or _INVALID, rate-limit key of the user), once per request."""
    if "api_caller" not in g:
        plain = presented_token()
        if plain is None:
            g.api_caller = (None, None)
        else:
            user = tokens.authenticate(plain)
            # One budget per user, not per token: more tokens must not mean more calls.
            g.api_caller = (user, f"user:{user.id}") if user is not None else (_INVALID, None)
    return g.api_caller


def user() -> User | None:
    """Return the user whose valid token the request carries, or None."""
    found, _ = _identify()
    return found if isinstance(found, User) else None


def has_invalid_token() -> bool:
    return _identify()[0] is _INVALID


def _has_valid_token() -> bool:
    return user() is not None


def _user_key() -> str:
    return _identify()[1] or ""


def limit(name: str) -> str:
    """Return the limit the setting `name` holds (API_RATELIMIT_…)."""
    return current_app.config.get(name, _DEFAULTS[name])


def rate_limit(bp: Blueprint, rows: Callable[[], int] | int = 1) -> None:
    """Put the API's shared budgets on `bp`: per IP address, or per token holder.

    `rows` tells what the current request asks for (see `costs`); budgets are shared by every
    blueprint given them, so /api/v1 and /api/3/action draw on the same ones.
    """
    anonymous = get_remote_address
    budgets = (  # scope, limit setting, key, whom it applies to, cost
        ("api-anonymous", "API_RATELIMIT_ANONYMOUS", anonymous, False, 1),
        ("api-anonymous-rows", "API_RATELIMIT_ANONYMOUS_ROWS", anonymous, False, rows),
        ("api-token", "API_RATELIMIT_TOKEN", _user_key, True, 1),
        ("api-token-rows", "API_RATELIMIT_TOKEN_ROWS", _user_key, True, rows),
    )
    for scope, setting, key, with_token, cost in budgets:
        limiter.shared_limit(
            lambda setting=setting: limit(setting),
            scope=scope,
            key_func=key,
            exempt_when=_has_valid_token if not with_token else lambda: not _has_valid_token(),
            error_message=_message(setting, with_token),
            cost=cost,
        )(bp)


def _message(setting: str, with_token: bool) -> Callable[[], str]:
    what = "datasets asked for" if setting.endswith("_ROWS") else "requests"
    whose = "per user, whatever the token" if with_token else "without a token; an API token allows more"
    return lambda: f"Too many {what}: {limit(setting)} {whose}."
