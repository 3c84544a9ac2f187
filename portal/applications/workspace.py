"""What a county team, or the data office, sees of the applications in progress."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from portal import clock
from portal.accounts.models import User
from portal.applications import board
from portal.applications.models import APPROVED, STATUSES, SUBMITTED, Application
from portal.extensions import db
from portal.regions.models import Region


@dataclass(frozen=True)
class Filters:
    status: str = ""
    county: str = ""  # Region.code, for the office
    quarter: str = ""


def filters_from(args: Mapping[str, str]) -> Filters:
    status, county, quarter = args.get("status", ""), args.get("county", "")[:12], args.get("quarter", "")
    return Filters(
        status=status if status in STATUSES else "",
        county=county if county.isascii() and county.isdigit() else "",
        quarter=quarter if clock.is_quarter(quarter) else "",
    )


def visible_to(user: User, filters: Filters = Filters()) -> Select:
    """Return the query of the applications `user` follows: their county's, or all for an admin."""
    query = (
        select(Application)
        .options(joinedload(Application.region))
        .order_by(Application.quarter.desc(), Application.updated_at.desc(), Application.id.desc())
    )
    if not user.is_admin:
        query = query.where(Application.region_id == user.region_id)
    elif filters.county:
        query = query.where(Application.region_id.in_(select(Region.id).where(Region.code == filters.county)))
    if filters.status:
        query = query.where(Application.status == filters.status)
    if filters.quarter:
        query = query.where(Application.quarter == filters.quarter)
    return query


@dataclass(frozen=True)
class Standing:
    quarter: str
    approved: int
    submitted: int
    days_left: int

    @property
    def met(self) -> bool:
        return self.approved >= board.QUOTA


def standing(region: Region, *, now: datetime) -> Standing:
    """Return how the county stands in the current quarter: approved, awaiting review, days left."""
    quarter = clock.quarter_of(now)
    counts = dict(
        db.session.execute(
            select(Application.status, func.count())
            .where(Application.region_id == region.id, Application.quarter == quarter)
            .group_by(Application.status)
        ).all()
    )
    return Standing(
        quarter, counts.get(APPROVED, 0), counts.get(SUBMITTED, 0), clock.days_left(quarter, now)
    )


def awaiting_review() -> int:
    return db.session.scalar(select(func.count()).where(Application.status == SUBMITTED)) or 0
