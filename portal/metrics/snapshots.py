"""Catalogue snapshots: what each region publishes, measured once a day by the rollup.

Counting 100,000 datasets and their resources on every dashboard view would be slow; a snapshot
a day is quick to read and keeps the history, so that a year's figure is the catalogue as it stood
at the year's last snapshot.

A dataset belongs to its department's region: a county, or the city for city departments (and for
the rare dataset without a department). Only published datasets count, and only their active
resources. A dataset's volume is the one the catalogue shows, `Resource.counted_volume` summed
(a file that duplicates another of the same dataset counts once); a dataset is measured when at
least one of its resources counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, insert, literal_column, select

from portal.catalogue import rules
from portal.catalogue.models import Dataset, Department, Resource, dataset_themes
from portal.extensions import db
from portal.metrics.models import CatalogueSnapshot, ThemeSnapshot


@dataclass(frozen=True)
class RegionCatalogue:
    region_id: int
    datasets: int
    resources: int
    measured_datasets: int
    volume: int  # records × fields over the measured datasets; 0 when none is measured


@dataclass(frozen=True)
class Catalogue:
    """The catalogue per region at one moment; `day` is None when measured live, not from a snapshot."""

    taken_at: datetime | None
    day: date | None
    regions: dict[int, RegionCatalogue] = field(default_factory=dict)
    themes: dict[tuple[int, int], int] = field(default_factory=dict)  # (region id, theme id) → datasets


def _region(city: int):
    # Inlined, so that the SELECT and the GROUP BY are the same expression on PostgreSQL.
    return func.coalesce(Department.region_id, literal_column(str(int(city))))


def measure(city: int) -> list[RegionCatalogue]:
    """Count the published catalogue per region now."""
    per_dataset = (
        select(
            Resource.dataset_id.label("dataset_id"),
            func.count().label("resources"),
            func.sum(Resource.counted_volume).label("volume"),
        )
        .where(Resource.state == "active")
        .group_by(Resource.dataset_id)
        .subquery()
    )
    region = _region(city)
    rows = db.session.execute(
        select(
            region,
            func.count(Dataset.id),
            func.coalesce(func.sum(per_dataset.c.resources), 0),
            func.count(per_dataset.c.volume),
            func.coalesce(func.sum(per_dataset.c.volume), 0),
        )
        .select_from(Dataset)
        .outerjoin(Department, Department.id == Dataset.department_id)
        .outerjoin(per_dataset, per_dataset.c.dataset_id == Dataset.id)
        .where(rules.published())
        .group_by(region)
    )
    return [RegionCatalogue(int(r), int(d), int(res), int(m), int(v)) for r, d, res, m, v in rows]


def measure_themes(city: int) -> dict[tuple[int, int], int]:
    """Count published datasets per region and theme now."""
    region = _region(city)
    theme = dataset_themes.c.theme_id
    rows = db.session.execute(
        select(region, theme, func.count())
        .select_from(dataset_themes)
        .join(Dataset, Dataset.id == dataset_themes.c.dataset_id)
        .outerjoin(Department, Department.id == Dataset.department_id)
        .where(rules.published())
        .group_by(region, theme)
    )
    return {(int(r), int(t)): int(n) for r, t, n in rows}


def take(day: date, city: int, now: datetime) -> int:
    """Replace `day`'s snapshot with the catalogue as it stands; return how many regions it covers."""
    regions = measure(city)
    themes = measure_themes(city)
    for model in (CatalogueSnapshot, ThemeSnapshot):
        statement = delete(model).where(model.day == day)
        db.session.execute(statement.execution_options(synchronize_session=False))
    if regions:
        db.session.execute(
            insert(CatalogueSnapshot),
            [
                dict(
                    day=day,
                    region_id=r.region_id,
                    datasets=r.datasets,
                    resources=r.resources,
                    measured_datasets=r.measured_datasets,
                    volume=r.volume,
                    taken_at=now,
                )
                for r in regions
            ],
        )
    if themes:
        db.session.execute(
            insert(ThemeSnapshot),
            [dict(day=day, region_id=r, theme_id=t, datasets=n) for (r, t), n in themes.items()],
        )
    return len(regions)


def latest(first: date, last: date) -> Catalogue | None:
    """Return the latest snapshot taken on a day from `first` to `last`, or None when there is none."""
    day = db.session.scalar(
        select(func.max(CatalogueSnapshot.day)).where(
            CatalogueSnapshot.day >= first, CatalogueSnapshot.day <= last
        )
    )
    if day is None:
        return None
    rows = list(db.session.scalars(select(CatalogueSnapshot).where(CatalogueSnapshot.day == day)))
    themes = db.session.execute(
        select(ThemeSnapshot.region_id, ThemeSnapshot.theme_id, ThemeSnapshot.datasets).where(
            ThemeSnapshot.day == day
        )
    )
    return Catalogue(
        taken_at=max(r.taken_at for r in rows),
        day=day,
        regions={
            r.region_id: RegionCatalogue(r.region_id, r.datasets, r.resources, r.measured_datasets, r.volume)
            for r in rows
        },
        themes={(r, t): n for r, t, n in themes},
    )


def live(city: int, now: datetime) -> Catalogue:
    """Measure the catalogue now, for a year that has no snapshot yet."""
    return Catalogue(
        taken_at=now,
        day=None,
        regions={r.region_id: r for r in measure(city)},
        themes=measure_themes(city),
    )


def volumes_by_day(first: date, last: date, region_id: int | None) -> dict[date, tuple[int, int]]:
    """Return day → (volume, measured datasets) of the snapshots in [first, last]: one region's, or all."""
    query = (
        select(
            CatalogueSnapshot.day,
            func.sum(CatalogueSnapshot.volume),
            func.sum(CatalogueSnapshot.measured_datasets),
        )
        .where(CatalogueSnapshot.day >= first, CatalogueSnapshot.day <= last)
        .group_by(CatalogueSnapshot.day)
    )
    if region_id is not None:
        query = query.where(CatalogueSnapshot.region_id == region_id)
    return {day: (int(v), int(m)) for day, v, m in db.session.execute(query)}
