"""What can happen to an account: sign-up, sign-in, password change, role changes.

These functions add and flush; the caller commits.
"""

from __future__ import annotations

import secrets
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.accounts import sessions
from portal.accounts.models import COUNTY_MEMBER, DEVELOPER, ROLES, User
from portal.accounts.passwords import generate_password, password_problem  # noqa: F401 (callers use both)
from portal.audit import log as audit_log
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.refusals import Refusal
from portal.regions.models import Region


class AccountError(Refusal):
    """A rule about accounts was broken; the message is shown to the user."""


class EmailTaken(AccountError):
    pass


class WeakPassword(AccountError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


@cache
def _dummy_hash() -> str:
    """Return a hash of nothing anyone knows: sign-in checks it for unknown emails, taking as long."""
    return generate_password_hash(secrets.token_hex(16))


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    *,
    email: str,
    password: str,
    display_name: str,
    role: str = DEVELOPER,
    region: Region | None = None,
    organization: str = "",
    min_length: int = 10,
) -> User:
    """Create an account; raise EmailTaken, WeakPassword or AccountError.

    The password is judged before the email is looked up, so a weak password is refused alike for a
    taken email and a free one.
    """
    if role not in ROLES:
        raise AccountError(_l("Unknown role."))
    _check_region(role, region)
    email = normalise_email(email)
    problem = password_problem(password, min_length=min_length, email=email, name=display_name)
    if problem:
        raise WeakPassword(problem)
    if db.session.scalar(select(func.count()).where(User.email == email)):
        raise EmailTaken(_l("An account with this email already exists."))
    user = User(
        email=email,
        display_name=display_name.strip(),
        password_hash=generate_password_hash(password),
        role=role,
        region=region if role == COUNTY_MEMBER else None,
        organization=organization.strip(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def sign_up(
    *, email: str, password: str, display_name: str, organization: str, min_length: int
) -> User | None:
    """Create a developer account, or return None when the email is taken; raise WeakPassword or AccountError.

    A taken email costs the same password hash as a new account, and the caller answers both alike, so
    sign-up does not tell whether an email is registered.
    """
    try:
        return create_user(
            email=email,
            password=password,
            display_name=display_name,
            organization=organization,
            min_length=min_length,
        )
    except EmailTaken:
        generate_password_hash(password)
        return None


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None.

    Every call checks one password hash, a dummy one for an unknown email, so that the answer takes as long
    whether or not the email is registered.
    """
    user = find_by_email(email)
    matches = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not user.active or not matches:
        return None
    user.last_sign_in_at = utcnow()
    return user


def remember_language(user: User, language, languages) -> None:
    """Keep `language` (a code or a Babel locale) as the user's, the language of their emails, when it is
    one of `languages`. Babel reads "zh_CN" as zh_Hans_CN: any Chinese is kept as "zh_CN"."""
    language = "zh_CN" if getattr(language, "language", None) == "zh" else str(language)
    if language in languages and user.language != language:
        user.language = language


def change_password(user: User, *, current: str, new: str, min_length: int = 10) -> None:
    """Replace the password after checking the current one."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError(_l("The current password is wrong."))
    problem = password_problem(new, min_length=min_length, email=user.email, name=user.display_name)
    if problem:
        raise WeakPassword(problem)
    user.password_hash = generate_password_hash(new)
    sessions.end_sessions(user)  # a thief's copied cookie dies with the old password


def reset_password(user: User) -> str:
    """Give the user a new random password, end their sessions, and return the password (shown once)."""
    password = generate_password(email=user.email, name=user.display_name)
    user.password_hash = generate_password_hash(password)
    sessions.end_sessions(user)
    return password


def set_role(user: User, role: str, region: Region | None, *, by: User) -> None:
    """Change a user's role and county binding."""
    if role not in ROLES:
        raise AccountError(_l("Unknown role."))
    if user.id == by.id and role != user.role:
        raise AccountError(_l("You cannot change your own role."))
    _check_region(role, region)
    before = {"role": user.role, "region_id": user.region_id}
    user.role = role
    user.region = region if role == COUNTY_MEMBER else None
    after = {"role": role, "region_id": region.id if region is not None and role == COUNTY_MEMBER else None}
    if after != before:
        audit_log.record(db.session, "user.role_changed", actor=by, object_type="user", object_id=user.id,
                         before=before, after=after)  # fmt: skip


def set_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate or reactivate an account; nobody deactivates themselves."""
    if user.id == by.id and not active:
        raise AccountError(_l("You cannot deactivate your own account."))
    if user.active and not active:
        sessions.end_sessions(user)  # so that reactivation does not revive old cookies
    if user.active != active:
        audit_log.record(db.session, "user.active_changed", actor=by, object_type="user", object_id=user.id,
                         before={"active": user.active}, after={"active": active})  # fmt: skip
    user.active = active


def _check_region(role: str, region: Region | None) -> None:
    if role == COUNTY_MEMBER and (region is None or region.is_city):
        raise AccountError(_l("A county team member must be bound to one county."))
