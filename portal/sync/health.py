"""Sync health: how many datasets each CKAN organization holds against how many we publish."""

from __future__ import annotations

from dataclasses import dataclass

import ckanapi
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.catalogue.models import PUBLISHED, Dataset, Department
from portal.extensions import db
from portal.sync.remote import SourceUnavailable


@dataclass(frozen=True)
class Row:
    """One organization: its count in CKAN and here; title and region when we know the department."""

    organization: str  # CKAN's organization name; "" for published datasets without a department
    in_ckan: int
    published: int
    title: str = ""
    region: str = ""

    @property
    def difference(self) -> int:
        """Datasets CKAN holds that we do not publish (negative: we publish more than CKAN holds)."""
        return self.in_ckan - self.published

    @property
    def differs(self) -> bool:
        return self.difference != 0


def compare(source) -> list[Row]:
    """Return a row per organization in CKAN or with datasets published here, largest difference first.

    Reads the source's counts (one facet query for a live CKAN) and raises SourceUnavailable
    when it cannot be read. Reads the database only.
    """
    try:
        in_ckan = source.counts_by_organization()
    except ckanapi.CKANAPIError as exc:  # a URL that answers, but not as a CKAN would
        raise SourceUnavailable(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    published = published_by_department()
    departments = {
        d.name: d for d in db.session.scalars(select(Department).options(joinedload(Department.region)))
    }
    rows = []
    for name in sorted(set(in_ckan) | set(published)):
        department = departments.get(name)
        rows.append(
            Row(
                organization=name,
                in_ckan=in_ckan.get(name, 0),
                published=published.get(name, 0),
                title=department.title if department else "",
                region=department.region.name if department else "",
            )
        )
    return sorted(rows, key=lambda r: (-abs(r.difference), r.organization))


def published_by_department() -> dict[str, int]:
    """Return the number of published datasets per department name ("" for none)."""
    query = (
        select(func.coalesce(Department.name, ""), func.count(Dataset.id))
        .select_from(Dataset)
        .outerjoin(Department, Dataset.department_id == Department.id)
        .where(Dataset.state == PUBLISHED)
        .group_by(Department.name)
    )
    return {name: count for name, count in db.session.execute(query)}


def total(rows: list[Row]) -> Row:
    """Return the sum of `rows` as one row."""
    return Row(
        organization="",
        in_ckan=sum(r.in_ckan for r in rows),
        published=sum(r.published for r in rows),
    )
