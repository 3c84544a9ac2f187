"""How fast each API caller may call: by address, or by the user whose token it presents.

Who the caller is (the token read from the request, refused when unknown, revoked or of a deactivated user)
is `portal/accounts/callers.py`.

Rate limits are shared by both APIs: anonymous callers by IP address, token callers by their user
(however many tokens the user holds, one budget). Each caller has two budgets: requests, and rows,
the datasets the calls ask for (`costs`). The limits are read from the app config, so tests and
deployments can change them. A refusal is a 429 with `Retry-After`, in the API's own envelope.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app
from flask_limiter.util import get_remote_address

from portal.accounts import callers
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
def _has_valid_token() -> bool:
    return callers.user() is not None


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
        ("api-token", "API_RATELIMIT_TOKEN", callers.key, True, 1),
        ("api-token-rows", "API_RATELIMIT_TOKEN_ROWS", callers.key, True, rows),
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
