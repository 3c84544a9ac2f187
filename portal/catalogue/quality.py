"""Data quality per dataset (issue 17 item 4): timeliness, openness stars and link health.

- Timeliness: a dataset is overdue when now - its latest update exceeds its declared `update_frequency`
  (the CKAN extra). The latest update is the latest of CKAN's `metadata_modified` and its active resources'
  `last_modified`. 实时 and 每日 allow 1 day, 每周 7, 每月 31, 每季度 92, 每半年 183, 每年 366; any other
  value (or none) is never overdue.
- Openness stars (Tim Berners-Lee's 5-star open data), the best of the dataset's active resources:
  1 any format (PDF, DOC, images ...), 2 structured but proprietary (XLS, XLSX, SHP ...), 3 structured in an
  open format (CSV, JSON, XML, GeoJSON ...), 4 with URIs (RDF formats: RDF/XML, Turtle, N-Triples, JSON-LD);
  5 (linked to others' data) cannot be told from a format, so a dataset gets at most 4 here. No resource: 0.
- Link health: `link_checks` keeps each resource's latest check (its link, or its mirrored copy in storage:
  catalogue/linkcheck.py); a resource whose latest check failed is "broken".
- Metadata completeness: the share of COMPLETENESS_FIELDS a dataset fills (declared once, below; the
  methodology page lists them from there).

`tallies` counts all of it per department for /api/v1/quality, the quality board and its daily snapshots,
from a per-process cache stamped with the catalogue's generation (`standings`), so that a request's work does
not grow with the catalogue.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Integer, String, bindparam, func, select
from sqlalchemy.orm import Mapped, mapped_column

from portal import dbtimeout
from portal.catalogue import changes, rules, search_cache
from portal.catalogue.models import Dataset, Department, Resource, dataset_tags
from portal.dbtypes import UTCDateTime
from portal.extensions import db
from portal.regions.models import Region

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


_BROKEN_OF_DATASET = (  # built once: every dataset page rendered asks it
    select(LinkCheck.resource_id)
    .join(Resource, Resource.id == LinkCheck.resource_id)
    .where(
        Resource.dataset_id == bindparam("dataset_id"), Resource.state == "active", LinkCheck.broken.is_(True)
    )
)


def broken_resource_ids(dataset_id: int) -> set[int]:
    """The ids of the dataset's active resources whose latest check failed (its page marks them)."""
    return set(db.session.scalars(_BROKEN_OF_DATASET, {"dataset_id": dataset_id}))


@dataclass(frozen=True)
class Field:
    """One metadata field that completeness counts: its key, its label and whether a dataset fills it."""

    key: str
    label: object  # a lazy string
    is_filled: Callable[[Dataset], bool]


def _text(value: object) -> bool:
    return bool(str(value or "").strip())


def _extra(*keys: str) -> Callable[[Dataset], bool]:
    return lambda d: any(_text((d.extras or {}).get(k)) for k in keys)


# The DCAT-ish fields a dataset's metadata should fill, in the order the methodology page lists them.
COMPLETENESS_FIELDS = (
    Field("title", _l("Title (other than the CKAN name)"), lambda d: _text(d.title) and d.title != d.name),
    Field("description", _l("Description"), lambda d: _text(d.notes)),
    Field("tags", _l("Tags"), lambda d: bool(d.tags)),
    Field("licence", _l("Licence"), lambda d: bool(d.licence_id)),
    Field("update_frequency", _l("Update frequency"), _extra("update_frequency")),
    Field("department", _l("Department (CKAN organization)"), lambda d: d.department_id is not None),
    Field(
        "contact",
        _l("Contact (maintainer or author)"),
        lambda d: _text(d.maintainer) or _text(d.author) or _extra("contact_point", "maintainer_email")(d),
    ),
    Field("spatial", _l("Spatial coverage"), _extra("spatial_coverage", "spatial")),
    Field("temporal", _l("Temporal coverage"), _extra("temporal_coverage", "temporal", "temporal_start")),
)


def fields_filled(dataset: Dataset) -> int:
    return sum(1 for f in COMPLETENESS_FIELDS if f.is_filled(dataset))


def completeness(dataset: Dataset) -> float:
    """The share of COMPLETENESS_FIELDS the dataset fills, 0 to 1, rounded to 4 places."""
    return round(fields_filled(dataset) / len(COMPLETENESS_FIELDS), 4)


def quality_json(dataset: Dataset, resources: list[Resource], *, now: datetime, broken: int) -> dict:
    """The `quality` object of a dataset in /api/v1."""
    return {
        "overdue": is_overdue(dataset, resources, now),
        "openness_stars": openness_stars(resources),
        "broken_resources": broken,
        "completeness": completeness(dataset),
    }


@dataclass
class Tally:
    """Sums over a set of published datasets, from which the board's figures are made (`figures`).

    Kept as sums, not means, so that tallies add up (departments to a county, days to a trend) exactly.
    """

    datasets: int = 0
    overdue: int = 0
    broken_resources: int = 0
    openness_stars: int = 0  # summed over the datasets
    fields_filled: int = 0  # summed over the datasets
    fields_expected: int = 0  # datasets × the fields counted when the tally was made

    def add(self, other: Tally) -> Tally:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def figures(self) -> dict:
        """datasets, overdue, broken_resources, mean_openness_stars, mean_completeness (means None at 0)."""
        return {
            "datasets": self.datasets,
            "overdue": self.overdue,
            "broken_resources": self.broken_resources,
            "mean_openness_stars": round(self.openness_stars / self.datasets, 2) if self.datasets else None,
            "mean_completeness": round(self.fields_filled / self.fields_expected, 4)
            if self.fields_expected
            else None,
        }


@dataclass(frozen=True)
class Standing:
    """A department's tally as its data stands, timeliness aside: when each of its datasets that declares a
    frequency falls overdue, sorted, so that the overdue count at any `now` is one bisection (`at`)."""

    tally: Tally  # overdue left at 0
    due: tuple[datetime, ...]  # latest update + allowed age, ascending

    def at(self, now: datetime) -> Tally:
        """The tally at `now`: overdue are the datasets due strictly before it (`is_overdue`)."""
        return replace(self.tally, overdue=bisect_left(self.due, now))


def measure() -> dict[int, Standing]:
    """Read every published dataset with a department once, in four column-only statements, and return
    its department's Standing per department id. The figures are those of `is_overdue`, `openness_stars`,
    `broken_counts` and `fields_filled` on the loaded datasets (the tests hold them equal)."""
    facts = _resource_facts()
    tagged = set(db.session.scalars(select(dataset_tags.c.dataset_id).distinct()))
    broken = broken_counts()
    columns = (Dataset.id, Dataset.department_id, Dataset.metadata_modified, *_COMPLETENESS_COLUMNS)
    query = select(*columns).where(rules.published(), Dataset.department_id.is_not(None))
    tallies: dict[int, Tally] = {}
    due: dict[int, list[datetime]] = {}
    for row in db.session.execute(query):
        stars, newest = facts.get(row.id, (0, None))
        allowed = allowed_age(row)
        if allowed is not None:
            latest = max(row.metadata_modified, newest) if newest else row.metadata_modified
            due.setdefault(row.department_id, []).append(latest + allowed)
        dataset = SimpleNamespace(**row._mapping, tags=row.id in tagged)
        tallies.setdefault(row.department_id, Tally()).add(
            Tally(
                datasets=1,
                broken_resources=broken.get(row.id, 0),
                openness_stars=stars,
                fields_filled=fields_filled(dataset),
                fields_expected=len(COMPLETENESS_FIELDS),
            )
        )
    return {dept_id: Standing(t, tuple(sorted(due.get(dept_id, ())))) for dept_id, t in tallies.items()}


# What `COMPLETENESS_FIELDS` read of a dataset, besides its tags.
_COMPLETENESS_COLUMNS = (
    Dataset.title,
    Dataset.name,
    Dataset.notes,
    Dataset.licence_id,
    Dataset.maintainer,
    Dataset.author,
    Dataset.extras,
)


def _resource_facts() -> dict[int, tuple[int, datetime | None]]:
    """Per dataset id: the best openness stars of its active resources and their newest `last_modified`."""
    query = (
        select(Resource.dataset_id, Resource.format, func.max(Resource.ckan_last_modified))
        .where(Resource.state == "active")
        .group_by(Resource.dataset_id, Resource.format)
    )
    facts: dict[int, tuple[int, datetime | None]] = {}
    for dataset_id, fmt, newest in db.session.execute(query):
        stars, latest = facts.get(dataset_id, (0, None))
        if newest is not None and (latest is None or newest > latest):
            latest = newest
        facts[dataset_id] = (max(stars, stars_of_format(fmt)), latest)
    return facts


def standings(*, reuse_within: float = 0.0) -> dict[int, Standing]:
    """Return `measure()`, cached in this process for the catalogue's generation (catalogue/changes.py:
    the sync, the link check and every writer of a dataset move it), so that a request costs one stamp
    lookup instead of a read of the whole catalogue. Timeliness is kept out of the cache (`Standing.at`),
    so a cached answer is exactly the live one at any moment. `reuse_within`: see StampedCache.get."""
    stamp = changes.generation()
    # one thread measures; without standings, the others wait for it rather than measure too, and while
    # one measures them again before their time runs out (search_cache), the others use those they have
    return search_cache.searches.get(
        "quality standings", _measure_unbounded, stamp, reuse_within=reuse_within, maker=_standings_lock
    )


_standings_lock = threading.Lock()


def _measure_unbounded() -> dict[int, Standing]:
    # a read of the whole catalogue that later requests reuse: not bound by one request's timeout
    with dbtimeout.unbounded(db.session.connection()):
        return measure()


def tallies(now: datetime, *, cached: bool = True, reuse_within: float = 0.0) -> dict[int, Tally]:
    """Tally the published datasets per department id (datasets without a department are left out);
    `cached=False` reads the catalogue afresh (the daily snapshot, which runs outside any request)."""
    measured = standings(reuse_within=reuse_within) if cached else measure()
    return {dept_id: s.at(now) for dept_id, s in measured.items()}


def summary(now: datetime, *, reuse_within: float = 0.0) -> dict:
    """Return {"total", "departments": [...], "counties": [...]}: the figures of `Tally.figures` over every
    department, per department with a published dataset (`organization`: the CKAN name, and `title`) and
    per region, the city's own departments under the city (`code`, `name`, `name_en`).

    Bounded per request: the tallies come from the cache (`standings`); departments and regions, a few
    hundred rows at most, are read live, so a renamed department shows at once."""
    by_department = tallies(now, reuse_within=reuse_within)
    departments = db.session.execute(
        select(Department.id, Department.name, Department.title, Department.region_id).where(
            Department.id.in_(list(by_department))
        )
    ).all()
    by_region: dict[int, Tally] = {}
    for dept_id, _name, _title, region_id in departments:
        by_region.setdefault(region_id, Tally()).add(by_department[dept_id])
    regions = db.session.scalars(select(Region).order_by(Region.position, Region.code))
    total = Tally()
    for tally in by_department.values():
        total.add(tally)
    return {
        "total": total.figures(),
        "departments": sorted(
            (
                {"organization": name, "title": title, **by_department[dept_id].figures()}
                for dept_id, name, title, _region in departments
            ),
            key=lambda r: r["organization"],
        ),
        "counties": [
            {"code": r.code, "name": r.name, "name_en": r.name_en, **by_region.get(r.id, Tally()).figures()}
            for r in regions
        ],
    }


def departments(now: datetime, *, reuse_within: float = 0.0) -> list[dict]:
    """Rows per department of the published datasets (see `summary`)."""
    return summary(now, reuse_within=reuse_within)["departments"]


def broken_resources(limit: int, department_ids: list[int] | None = None) -> list[dict]:
    """Published datasets' active resources whose latest check failed, newest first, `limit` at most; of
    the datasets of `department_ids` only when given (a data owner's)."""
    query = (
        select(Dataset.name, Dataset.title, Resource.ckan_id, Resource.name, LinkCheck)
        .join(Resource, Resource.id == LinkCheck.resource_id)
        .join(Dataset, Dataset.id == Resource.dataset_id)
        .where(rules.published(), Resource.state == "active", LinkCheck.broken.is_(True))
        .order_by(LinkCheck.checked_at.desc(), Resource.id)
        .limit(limit)
    )
    if department_ids is not None:
        query = query.where(Dataset.department_id.in_(department_ids))
    return [
        {"dataset": name, "title": title, "resource": ckan_id, "resource_name": resource_name, "check": check}
        for name, title, ckan_id, resource_name, check in db.session.execute(query)
    ]
