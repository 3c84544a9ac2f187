"""The headline figures of the home page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import DEVELOPER, User
from portal.extensions import db
from portal.regions.models import Region


def figures() -> dict[str, int]:
    """Return the counts the home page shows."""
    return {
        "counties": db.session.scalar(select(func.count()).where(Region.level == "county")) or 0,
        "developers": db.session.scalar(
            select(func.count()).where(User.role == DEVELOPER, User.active.is_(True))
        )
        or 0,
    }


LABELS = [
    ("datasets", _l("open datasets")),
    ("departments", _l("departments")),
    ("counties", _l("counties")),
    ("developers", _l("registered developers")),
]
