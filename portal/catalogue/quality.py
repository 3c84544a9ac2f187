"""Data quality per dataset (issue 17 item 4): timeliness, openness stars and link health.

- Timeliness: a dataset is overdue when now - its latest update exceeds its declared `update_frequency`
  (the CKAN extra). The latest update is the latest of CKAN's `metadata_modified` and its active resources'
  `last_modified`. 实时 and 每日 allow 1 day, 每周 7, 每月 31, 每季度 92, 每半年 183, 每年 366; any other
  value (or none) is never overdue.
- Openness stars (Tim Berners-Lee's 5-star open data), the best of the dataset's active resources:
  1 any format (PDF, DOC, images ...), 2 structured but proprietary (XLS, XLSX, SHP ...), 3 structured in an
  open format (CSV, JSON, XML, GeoJSON ...), 4 with URIs (RDF formats: RDF/XML, Turtle, N-Triples, JSON-LD);
  5 (linked to others' data) cannot be told from a format, so a dataset gets at most 4 here. No resource: 0.
- Link health: `link_checks` keeps each linked resource's latest check; a resource whose latest check failed
  is "broken".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, selectinload

from portal.catalogue import rules
from portal.catalogue.models import Dataset, Department, Resource
from portal.dbtypes import UTCDateTime
from portal.extensions import db

FREQUENCY_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每半年": 183, "每年": 366}

PROPRIETARY = {"XLS", "XLSX", "DOCX_TABLE", "SHP", "DBF", "MDB", "ACCDB", "SAV", "DTA", "KMZ"}
OPEN_STRUCTURED = {"CSV", "TSV", "JSON", "GEOJSON", "XML", "KML", "ODS", "GML", "GPX", "WMS", "WFS", "API"}
LINKED = {"RDF", "RDF/XML", "TTL", "TURTLE", "N3", "NT", "N-TRIPLES", "JSON-LD", "JSONLD", "NQ", "TRIG"}


class LinkCheck(db.Model):
    """A linked resource's latest link-health check: HTTP status (None: no answer), whether it failed."""

    __tablename__ = "link_checks"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[int | None] = mapped_column(Integer)
    broken: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(String(200), default="")


def stars_of_format(fmt: str) -> int:
    """The openness stars of one resource format (0 for none)."""
    name = (fmt or "").strip().upper().lstrip(".")
    if not name:
        return 0
    if name in LINKED:
        return 4
    if name in OPEN_STRUCTURED:
        return 3
    if name in PROPRIETARY:
        return 2
    return 1


def openness_stars(resources: Iterable[Resource]) -> int:
    """The best stars among the active resources (0 when there is none)."""
    return max((stars_of_format(r.format) for r in resources if r.is_active), default=0)


def latest_update(dataset: Dataset, resources: Iterable[Resource]) -> datetime:
    stamps = [r.ckan_last_modified for r in resources if r.is_active and r.ckan_last_modified]
    return max([dataset.metadata_modified, *stamps])


def allowed_age(dataset: Dataset) -> timedelta | None:
    """How old the data may get under its declared frequency; None when it declares none we know."""
    days = FREQUENCY_DAYS.get(((dataset.extras or {}).get("update_frequency") or "").strip())
    return timedelta(days=days) if days else None


def is_overdue(dataset: Dataset, resources: Iterable[Resource], now: datetime) -> bool:
    allowed = allowed_age(dataset)
    return allowed is not None and now - latest_update(dataset, resources) > allowed


def broken_counts(dataset_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Per dataset id (of `dataset_ids`, else of all): how many active resources failed their latest check."""
    query = (
        select(Resource.dataset_id, func.count())
        .join(LinkCheck, LinkCheck.resource_id == Resource.id)
        .where(Resource.state == "active", LinkCheck.broken.is_(True))
        .group_by(Resource.dataset_id)
    )
    if dataset_ids is not None:
        query = query.where(Resource.dataset_id.in_(list(dataset_ids)))
    return dict(db.session.execute(query).all())


def quality_json(dataset: Dataset, resources: list[Resource], *, now: datetime, broken: int) -> dict:
    """The `quality` object of a dataset in /api/v1."""
    return {
        "overdue": is_overdue(dataset, resources, now),
        "openness_stars": openness_stars(resources),
        "broken_resources": broken,
    }


def departments(now: datetime) -> list[dict]:
    """Rows per department of the published datasets: datasets, overdue, broken_resources, mean stars."""
    query = (
        select(Dataset)
        .where(rules.published(), Dataset.department_id.is_not(None))
        .options(selectinload(Dataset.resources))
    )
    datasets = list(db.session.scalars(query))
    broken = broken_counts()
    rows: dict[int, dict] = {}
    for d in datasets:
        row = rows.setdefault(
            d.department_id, {"datasets": 0, "overdue": 0, "broken_resources": 0, "stars": 0}
        )
        row["datasets"] += 1
        row["overdue"] += is_overdue(d, d.resources, now)
        row["broken_resources"] += broken.get(d.id, 0)
        row["stars"] += openness_stars(d.resources)
    names = dict(
        db.session.execute(select(Department.id, Department.name).where(Department.id.in_(rows))).all()
    )
    return sorted(
        (
            {
                "organization": names[dept_id],
                "datasets": row["datasets"],
                "overdue": row["overdue"],
                "broken_resources": row["broken_resources"],
                "mean_openness_stars": round(row["stars"] / row["datasets"], 2),
            }
            for dept_id, row in rows.items()
        ),
        key=lambda r: r["organization"],
    )
