"""The headline figures of the home page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.accounts.models import DEVELOPER, User
from portal.catalogue import rules
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.regions.models import Region


def figures() -> dict[str, int]:
    """Return the counts the home page shows."""
    published = rules.published()
    return {
        "datasets": db.session.scalar(select(func.count()).where(published)) or 0,
        "departments": db.session.scalar(
            select(func.count(func.distinct(Dataset.department_id))).where(published)
        )
        or 0,
        "resources": db.session.scalar(
            select(func.count(Resource.id)).join(Dataset).where(published, Resource.state == "active")
        )
        or 0,
        "counties": db.session.scalar(select(func.count()).where(Region.level == "county")) or 0,
        "developers": db.session.scalar(
            select(func.count()).where(User.role == DEVELOPER, User.active.is_(True))
        )
        or 0,
    }


LABELS = [
    ("datasets", _l("open datasets")),
    ("departments", _l("departments")),
    ("resources", _l("data resources")),
    ("counties", _l("counties")),
    ("developers", _l("registered developers")),
]
