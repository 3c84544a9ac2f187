"""The public side of applications: the gallery of approved ones and the reuses of each dataset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from portal import clock, inputs
from portal.applications import domains
from portal.applications.models import APPROVED, Application, application_datasets
from portal.extensions import db
from portal.regions.models import Region


@dataclass(frozen=True)
class Filters:
    county: str = ""  # Region.code
    domain: str = ""
    quarter: str = ""
    exemplary: bool = False
    dataset_id: int | None = None


def filters_from(args: Mapping[str, str]) -> Filters:
    """Read filters from query arguments, ignoring values that cannot be right."""
    county = args.get("county", "")[:12]
    domain = args.get("domain", "")
    quarter = args.get("quarter", "")
    dataset = args.get("dataset", "")
    return Filters(
        county=county if county.isascii() and county.isdigit() else "",
        domain=domain if domains.is_domain(domain) else "",
        quarter=quarter if clock.is_quarter(quarter) else "",
        exemplary=args.get("exemplary", "") in ("1", "true", "on"),
        dataset_id=_dataset_id(dataset),
    )


def _dataset_id(raw: str) -> int | None:
    try:
        return inputs.optional_number(raw, None, strict=True, minimum=1, maximum=2**31 - 1)
    except inputs.BadInput:
        return None


def approved(filters: Filters = Filters()) -> Select:
    """Return the query of approved applications matching `filters`, exemplary first, then newest."""
    query = (
        select(Application)
        .where(Application.status == APPROVED)
        .options(joinedload(Application.region), selectinload(Application.files))
        .order_by(Application.is_exemplary.desc(), Application.approved_at.desc(), Application.id.desc())
    )
    if filters.county:
        query = query.where(Application.region_id.in_(select(Region.id).where(Region.code == filters.county)))
    if filters.domain:
        query = query.where(Application.domain == filters.domain)
    if filters.quarter:
        query = query.where(Application.quarter == filters.quarter)
    if filters.exemplary:
        query = query.where(Application.is_exemplary.is_(True))
    if filters.dataset_id is not None:
        using = select(application_datasets.c.application_id).where(
            application_datasets.c.dataset_id == filters.dataset_id
        )
        query = query.where(Application.id.in_(using))
    return query


_ANY_USE = (
    select(application_datasets.c.application_id)
    .where(application_datasets.c.dataset_id == bindparam("dataset_id"))
    .limit(1)
)


def reuses_of(dataset_id: int, cursor: Any = None) -> list[Application]:
    """Return the approved applications that use the dataset, exemplary first, then newest.

    Most datasets have none: that is asked first, with one small statement on every dataset page, on
    `cursor` when given (a DBAPI cursor outside the session, catalogue/changes.raw_cursor: a kept
    dataset page opens no session)."""
    if not _any_use(dataset_id, cursor):
        return []
    return list(db.session.scalars(approved(Filters(dataset_id=dataset_id))).unique())


def _any_use(dataset_id: int, cursor: Any) -> bool:
    if cursor is None:
        return db.session.connection().scalar(_ANY_USE, {"dataset_id": dataset_id}) is not None
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    cursor.execute(
        f"SELECT 1 FROM {application_datasets.name} WHERE dataset_id = {mark} LIMIT 1", [dataset_id]
    )
    return cursor.fetchone() is not None


def approved_quarters() -> list[str]:
    """Return the quarters that have approved applications, newest first (for the gallery's filter)."""
    found = db.session.scalars(
        select(Application.quarter).where(Application.status == APPROVED).distinct()
    ).all()
    return sorted(found, key=clock.parse_quarter, reverse=True)
