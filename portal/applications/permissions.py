"""Who may see and act on applications, as `can_<verb>_<noun>(user, obj)` predicates.

A county team member sees and edits only their county's applications; admins see and review all;
everyone else, signed in or not, sees approved applications only.
"""

from __future__ import annotations

from portal.accounts.models import ADMIN, COUNTY_MEMBER, User
from portal.applications.models import APPROVED, SUBMITTED, Application
from portal.regions.models import Region


def _is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.role == ADMIN)


def _is_team_of(user: User, region_id: int | None) -> bool:
    return bool(
        user.is_authenticated
        and user.role == COUNTY_MEMBER
        and region_id is not None
        and user.region_id == region_id
    )


def can_register_application(user: User, region: Region | None) -> bool:
    """Only a county's own team registers applications for it."""
    return region is not None and not region.is_city and _is_team_of(user, region.id)


def can_view_application(user: User, application: Application) -> bool:
    return application.status == APPROVED or _is_admin(user) or _is_team_of(user, application.region_id)


def can_follow_application(user: User, application: Application) -> bool:
    """See the application's unpublished side: its history, its review and its status while pending."""
    return _is_admin(user) or _is_team_of(user, application.region_id)


def can_edit_application(user: User, application: Application) -> bool:
    return application.is_editable and _is_team_of(user, application.region_id)


def can_submit_application(user: User, application: Application) -> bool:
    return can_edit_application(user, application)


def can_review_application(user: User, application: Application) -> bool:
    """Approve or return: admins, on a submitted application."""
    return _is_admin(user) and application.status == SUBMITTED


def can_mark_application(user: User, application: Application) -> bool:
    """Mark as exemplary or unmark: admins, on an approved application."""
    return _is_admin(user) and application.status == APPROVED


def can_inspect_application(user: User, application: Application) -> bool:
    """See the evidence of use of the datasets an application claims: the data office."""
    return _is_admin(user)


def can_view_board(user: User) -> bool:
    return _is_admin(user) or bool(user.is_authenticated and user.role == COUNTY_MEMBER)
