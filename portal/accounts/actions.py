"""What can happen to an account: sign-up, sign-in, password change, role changes.

These functions add and flush; the caller commits.
"""

from __future__ import annotations

import secrets
import string

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.accounts.models import COUNTY_MEMBER, DEVELOPER, ROLES, User
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions.models import Region

COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou",
        "a123456789",
        "abc123456",
        "qwerty123",
        "password123",
        "admin12345",
        "1qaz2wsx3edc",
    }
)


class AccountError(Exception):
    """A rule about accounts was broken; the message is shown to the user."""


class EmailTaken(AccountError):
    pass


class WeakPassword(AccountError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, *, min_length: int) -> str | None:
    """Return why `password` is too weak, or None when it is acceptable."""
    if len(password) < min_length:
        return _l("The password needs at least %(n)d characters.", n=min_length)
    if password.lower() in COMMON_PASSWORDS:
        return _l("This password is too common.")
    has_letter = any(c.isalpha() for c in password)
    has_other = any(not c.isalpha() for c in password)
    if not (has_letter and has_other):
        return _l("Mix letters with digits or symbols.")
    return None


def generate_password(length: int = 16) -> str:
    """Return a random password that passes `password_problem`."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


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
    """Create an account; raise EmailTaken, WeakPassword or AccountError."""
    if role not in ROLES:
        raise AccountError(_l("Unknown role."))
    _check_region(role, region)
    email = normalise_email(email)
    if db.session.scalar(select(func.count()).where(User.email == email)):
        raise EmailTaken(_l("An account with this email already exists."))
    problem = password_problem(password, min_length=min_length)
    if problem:
        raise WeakPassword(problem)
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


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = find_by_email(email)
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        return None
    user.last_sign_in_at = utcnow()
    return user


def change_password(user: User, *, current: str, new: str, min_length: int = 10) -> None:
    """Replace the password after checking the current one."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError(_l("The current password is wrong."))
    problem = password_problem(new, min_length=min_length)
    if problem:
        raise WeakPassword(problem)
    user.password_hash = generate_password_hash(new)


def reset_password(user: User) -> str:
    """Give the user a new random password and return it (shown once)."""
    password = generate_password()
    user.password_hash = generate_password_hash(password)
    return password


def set_role(user: User, role: str, region: Region | None, *, by: User) -> None:
    """Change a user's role and county binding."""
    if role not in ROLES:
        raise AccountError(_l("Unknown role."))
    if user.id == by.id and role != user.role:
        raise AccountError(_l("You cannot change your own role."))
    _check_region(role, region)
    user.role = role
    user.region = region if role == COUNTY_MEMBER else None


def set_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate or reactivate an account; nobody deactivates themselves."""
    if user.id == by.id and not active:
        raise AccountError(_l("You cannot deactivate your own account."))
    user.active = active


def _check_region(role: str, region: Region | None) -> None:
    if role == COUNTY_MEMBER and (region is None or region.is_city):
        raise AccountError(_l("A county team member must be bound to one county."))
