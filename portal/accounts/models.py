"""Accounts: one role per user, and a county for county team members."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db
from portal.regions.models import Region

ADMIN = "admin"
DATA_OWNER = "data_owner"  # 数源部门: bound to departments in catalogue/owners.py, a layer above
COUNTY_MEMBER = "county_member"
JUDGE = "judge"
DEVELOPER = "developer"
ROLES = (ADMIN, DATA_OWNER, COUNTY_MEMBER, JUDGE, DEVELOPER)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'data_owner', 'county_member', 'judge', 'developer')", name="role"
        ),
        CheckConstraint(
            "(role = 'county_member') = (region_id IS NOT NULL)", name="county_member_has_region"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=DEVELOPER, index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    organization: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every session's and remember cookie's user id: raising it ends them all.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # The interface language the user last chose or signed in with (a LANGUAGES key): their emails are
    # written in it. None until they sign in again after revision 0032; their mail is then in the default.
    language: Mapped[str | None] = mapped_column(String(10))

    region: Mapped[Region | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session and remember cookie: "<id>:<epoch>"."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


def role_labels() -> dict[str, str]:
    """Return each role's name in the current language."""
    from flask_babel import gettext as _

    return {
        ADMIN: _("City data office"),
        DATA_OWNER: _("Data owner (department)"),
        COUNTY_MEMBER: _("County team member"),
        JUDGE: _("Judge"),
        DEVELOPER: _("Developer"),
    }


class ApiToken(db.Model):
    """A developer's API token: shown once, stored as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists so the owner can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Past a hard daily limit the token is suspended until an admin lifts it (accounts/usage.py).
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspension_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None
