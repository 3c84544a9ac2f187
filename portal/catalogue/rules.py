"""The catalogue's rules, each written once: what "published" means, which relations a
dataset is shown with, and each facet (its name, URL parameter, query field, label, SQL
filter and the source of its bitsets).

The pages, /api/v1, the CKAN-compatible API, DCAT, the facet index, the metrics, the
applications and the contest read the public catalogue through these, never by writing
the conditions out again. Text matching has its own module (catalogue/matching.py).
Pure query building: no request, no session use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from portal.catalogue.models import (
    CONDITIONAL,
    PUBLISHED,
    UNCONDITIONAL,
    Dataset,
    Department,
    Resource,
    Tag,
    Theme,
    dataset_tags,
    dataset_themes,
)
from portal.regions.models import Region

# -- Publication -------------------------------------------------------------------------


def published() -> ColumnElement[bool]:
    """Return "the dataset is in the public catalogue", a condition on `Dataset`.

    The one definition: every public list, count, search, facet, feed and picker filters
    with it, and `is_published` says the same of one loaded dataset. A rule that gates
    publication (a data level, a hold) is added here and in `is_published`, nowhere else.
    Data levels (`grade` below) are held through the state: the sync never leaves a dataset
    graded 3, 4 or unknown in the state `PUBLISHED`, and a level-2 one only as conditional.
    Personal data holds (待脱敏审核, `hold` below) are held the same way: a dataset with
    unmasked personal data is written withdrawn with the reason `personal_data` until the
    office releases it or CKAN's data changes, so this one condition keeps it out of every
    page, search, facet, count, API, feed, download, preview, row answer and metric.
    """
    return Dataset.state == PUBLISHED


def is_published(dataset: Any) -> bool:
    """Tell whether one dataset (anything with the columns `published` reads) is public."""
    return dataset.state == PUBLISHED


def published_datasets(*columns: Any) -> Select:
    """Select the published datasets (or the given columns of them)."""
    return select(*(columns or (Dataset,))).where(published())


# -- Data levels (分级) ------------------------------------------------------------------
#
# CKAN's `data_level` extra grades a dataset "1" to "4". Level 1 may be open without
# conditions; level 2 only as conditional open (有条件开放), whatever its open condition
# says; levels 3 and 4 are never published. A value that is neither empty nor 1-4 counts
# as the strictest level. Ungraded datasets (未分级) follow the UNGRADED_DATASETS setting:
# `open` (as their open condition says), `conditional` (as level 2) or `withheld` (never
# published). The sync grades each package with `grade` and writes the dataset's state
# from it, so `published` above holds the levels for every reader.

UNGRADED_OPEN, UNGRADED_CONDITIONAL, UNGRADED_WITHHELD = "open", "conditional", "withheld"
UNGRADED_CHOICES = (UNGRADED_OPEN, UNGRADED_CONDITIONAL, UNGRADED_WITHHELD)
STRICTEST_LEVEL = 4
PUBLISHABLE_LEVELS = (1, 2)
WITHHELD_BY_LEVEL, WITHHELD_UNGRADED = "data_level", "ungraded"  # a withdrawal's reason
WITHHELD_PERSONAL = "personal_data"  # held for review of unmasked personal data (待脱敏审核)
GRADE_REASONS = (WITHHELD_BY_LEVEL, WITHHELD_UNGRADED)  # withheld by its grade: files deleted
# never public, not even as "gone": a page or API answers 404, not 410 with the title
WITHHELD_REASONS = (*GRADE_REASONS, WITHHELD_PERSONAL)


@dataclass(frozen=True)
class Grade:
    """What a data level allows: the level kept (None when ungraded), whether the dataset may be
    published, with which open condition, and why not (a withdrawal's reason)."""

    level: int | None
    publishable: bool
    open_condition: str
    withheld_as: str | None = None
    unknown: bool = False  # the extra held something other than 1-4: graded as the strictest


def grade(raw: str | None, open_condition: str, *, ungraded: str = UNGRADED_OPEN) -> Grade:
    """Grade a dataset from its `data_level` extra (as CKAN sent it) and its open condition."""
    text = (raw or "").strip()
    if not text:  # a setting other than the three choices counts as the strictest, `withheld`
        if ungraded == UNGRADED_OPEN:
            return Grade(None, True, open_condition)
        if ungraded == UNGRADED_CONDITIONAL:
            return Grade(None, True, CONDITIONAL)
        return Grade(None, False, open_condition, WITHHELD_UNGRADED)
    level = int(text) if text in {"1", "2", "3", "4"} else None
    if level is None:
        return Grade(STRICTEST_LEVEL, False, open_condition, WITHHELD_BY_LEVEL, unknown=True)
    if level not in PUBLISHABLE_LEVELS:
        return Grade(level, False, open_condition, WITHHELD_BY_LEVEL)
    return Grade(level, True, CONDITIONAL if level == 2 else open_condition)


def level_counts() -> Select:
    """Select (data level or None for 未分级, published or not, count) over the datasets the sync
    has graded: what the office's sync page shows. Withdrawals for CKAN's own reasons are left out."""
    graded = (Dataset.state == PUBLISHED) | Dataset.withdrawn_reason.in_(GRADE_REASONS)
    is_published = Dataset.state == PUBLISHED
    return (
        select(Dataset.data_level, is_published, func.count())
        .where(graded)
        .group_by(Dataset.data_level, is_published)
    )


def hold(grade: Grade) -> Grade:
    """Return `grade` held back for personal data: publishable by its level, not published until
    the office releases it or CKAN's data changes (the sync writes the state from it)."""
    return replace(grade, publishable=False, withheld_as=WITHHELD_PERSONAL)


# -- Relations shown with a dataset ------------------------------------------------------

# What a dataset is shown with (card, page, package dict, DCAT record, /api/v1 answer).
RELATIONS = ("department", "licence", "themes", "tags", "resources")


def with_relations(statement: Select, *, one: bool = False) -> Select:
    """Load `RELATIONS` (and the department's county) with the datasets `statement` selects.

    For many datasets, a statement per relation (selectin); for `one` dataset, the to-one
    relations joined into its own statement."""
    return statement.options(*relation_options(one=one))


def relation_options(*, one: bool = False) -> tuple[_AbstractLoad, ...]:
    if one:
        department = joinedload(Dataset.department).joinedload(Department.region)
        licence = joinedload(Dataset.licence)
    else:
        department = selectinload(Dataset.department).selectinload(Department.region)
        licence = selectinload(Dataset.licence)
    return (
        department,
        licence,
        selectinload(Dataset.themes),
        selectinload(Dataset.tags),
        selectinload(Dataset.resources),
    )


# -- Resources ---------------------------------------------------------------------------

ACTIVE = "active"


def active_resource() -> ColumnElement[bool]:
    """Return "the resource is offered" (not removed from its dataset in CKAN)."""
    return Resource.state == ACTIVE


def shaped_resource() -> ColumnElement[bool]:
    """Return "the resource is offered and names its format": what the format facet counts."""
    return (Resource.state == ACTIVE) & (Resource.format != "")


# -- Facets ------------------------------------------------------------------------------

OPEN_CONDITIONS = (UNCONDITIONAL, CONDITIONAL)


@dataclass(frozen=True)
class FacetRule:
    """One facet of the catalogue, declared once.

    `source` is where a dataset's keys for the facet are: a column of `Dataset` (read in the facet
    index's one pass over the published datasets), or a statement selecting (key, dataset id)
    pairs from a link table. `values` maps a key to (value, label), or is None when the key is
    the value and its own label. The facet index builds its bitsets from these; `condition` is
    the same facet as SQL, for listings and the CKAN-compatible `fq`.
    """

    name: str  # as the code and the API's `facets` name it
    param: str  # URL parameter on the pages and /api/v1
    field: str  # SearchQuery field
    label: Any  # lazy, translated when shown
    condition: Callable[[Sequence[str]], ColumnElement[bool]]  # "carries one of these values" (never unknown)
    source: Any  # a Dataset column, or a Select of (key, dataset id)
    values: Select | None = None
    ckan: str | None = None  # the field of CKAN's package_search carrying the same values


def _department_in(departments: Select) -> ColumnElement[bool]:
    # false, not unknown, for a dataset without a department: a Solr NOT must keep it
    return and_(Dataset.department_id.is_not(None), Dataset.department_id.in_(departments))


FACETS: tuple[FacetRule, ...] = (
    FacetRule(
        "department",
        "department",
        "departments",
        _l("Department"),
        lambda values: _department_in(select(Department.id).where(Department.name.in_(values))),
        Dataset.department_id,
        select(Department.id, Department.name, Department.title),
        ckan="organization",
    ),
    FacetRule(
        "region",
        "region",
        "regions",
        _l("County"),
        lambda values: _department_in(
            select(Department.id).join(Department.region).where(Region.code.in_(values))
        ),
        Dataset.department_id,
        select(Department.id, Region.code, Region.name).join(Department.region),
    ),
    FacetRule(
        "theme",
        "theme",
        "themes",
        _l("Theme"),
        lambda values: Dataset.id.in_(
            select(dataset_themes.c.dataset_id).join(Theme).where(Theme.name.in_(values))
        ),
        select(dataset_themes.c.theme_id, dataset_themes.c.dataset_id),
        select(Theme.id, Theme.name, Theme.title),
        ckan="groups",
    ),
    FacetRule(
        "format",
        "format",
        "formats",
        _l("Format"),
        lambda values: Dataset.id.in_(
            select(Resource.dataset_id).where(active_resource(), Resource.format.in_(values))
        ),
        select(Resource.format, Resource.dataset_id).where(shaped_resource()),
        ckan="res_format",
    ),
    FacetRule(
        "open_condition",
        "condition",
        "open_conditions",
        _l("Open condition"),
        lambda values: Dataset.open_condition.in_(values),
        Dataset.open_condition,
    ),
    FacetRule(
        "tag",
        "tag",
        "tags",
        _l("Tag"),
        lambda values: Dataset.id.in_(
            select(dataset_tags.c.dataset_id).join(Tag).where(Tag.name.in_(values))
        ),
        select(dataset_tags.c.tag_id, dataset_tags.c.dataset_id),
        select(Tag.id, Tag.name, Tag.name),
        ckan="tags",
    ),
)
FACET = {facet.name: facet for facet in FACETS}
NAMES = tuple(FACET)  # in the order the pages show them
BY_PARAM = {facet.param: facet for facet in FACETS}
BY_CKAN = {facet.ckan: facet for facet in FACETS if facet.ckan}


def facet_conditions(chosen: dict[str, Sequence[str]], *, skip: str = "") -> list[ColumnElement[bool]]:
    """Return the SQL filters of the chosen values per facet name (empty choices ignored),
    leaving out the facet `skip`."""
    return [FACET[name].condition(values) for name, values in chosen.items() if values and name != skip]
