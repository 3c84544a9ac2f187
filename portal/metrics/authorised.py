"""Authorised data volume (授权数据量): the volume of conditional datasets granted through approved access
requests, per county of the requester, for the city's indicators (issue 15 item 5).

A grant is one requester and one conditional (有条件开放) dataset whose access request was approved in the
period (by `decided_at`, Shanghai days); a requester approved twice for the same dataset in the period counts
once. Its volume is the dataset's volume as the catalogue measures it now (Σ `Resource.counted_volume`:
records × fields of its active, measured, non-duplicate resources; an unmeasured dataset adds 0). The county
is the requester's (`users.region_id`); requesters without a county, developers as the roles stand, count for
the city only, whose figure covers every grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import User
from portal.catalogue.models import APPROVED, CONDITIONAL, AccessRequest, Dataset, Resource
from portal.extensions import db


@dataclass(frozen=True)
class Authorised:
    grants: int  # distinct (requester, conditional dataset) approved in the period
    volume: int  # Σ the granted datasets' volume, one per grant


def by_region(first: date, last: date) -> dict[int | None, Authorised]:
    """Return the requester's region id (None: no county) → the grants approved from `first` to `last`."""
    start, end = clock.day_start(first), clock.day_start(last + timedelta(days=1))
    grants = (
        select(AccessRequest.user_id, AccessRequest.dataset_id)
        .join(Dataset, Dataset.id == AccessRequest.dataset_id)
        .where(
            AccessRequest.status == APPROVED,
            AccessRequest.decided_at >= start,
            AccessRequest.decided_at < end,
            Dataset.open_condition == CONDITIONAL,
        )
        .distinct()
        .subquery()
    )
    volumes = (
        select(Resource.dataset_id, func.sum(Resource.counted_volume).label("volume"))
        .where(Resource.dataset_id.in_(select(grants.c.dataset_id)))
        .group_by(Resource.dataset_id)
        .subquery()
    )
    rows = db.session.execute(
        select(User.region_id, func.count(), func.coalesce(func.sum(volumes.c.volume), 0))
        .select_from(grants)
        .join(User, User.id == grants.c.user_id)
        .outerjoin(volumes, volumes.c.dataset_id == grants.c.dataset_id)
        .group_by(User.region_id)
    )
    return {region_id: Authorised(int(n), int(volume)) for region_id, n, volume in rows}


def of_year(year: int) -> dict[int | None, Authorised]:
    return by_region(*clock.year_bounds(year))
