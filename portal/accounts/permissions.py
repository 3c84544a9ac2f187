"""Who may do what: the `role_required` decorator and `can_<verb>_<noun>` predicates.

Views call these and `abort(403)`; templates call the predicates to hide buttons.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort
from flask_login import current_user

from portal.accounts.models import ADMIN, COUNTY_MEMBER, User


def role_required(*roles: str) -> Callable:
    """Let signed-in users with one of `roles` in; send others to sign-in or 403.

    With no roles given, any signed-in user is let in.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from portal.extensions import login_manager

                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_manage_accounts(user: User) -> bool:
    return user.is_authenticated and user.role == ADMIN


def can_use_team_workspace(user: User) -> bool:
    return user.is_authenticated and user.role in (ADMIN, COUNTY_MEMBER)


def can_act_for_region(user: User, region_id: int | None) -> bool:
    """Admins act for any region; a county member only for their own county."""
    if not user.is_authenticated:
        return False
    if user.role == ADMIN:
        return True
    return user.role == COUNTY_MEMBER and region_id is not None and user.region_id == region_id
