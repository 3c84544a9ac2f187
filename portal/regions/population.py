"""Reading and correcting the population figures of the city and its counties."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.refusals import Refusal
from portal.regions.models import Population, Region

if TYPE_CHECKING:  # regions lie below accounts: a user names the county they belong to
    from portal.accounts.models import User


class PopulationError(Refusal):
    """A population figure was refused; the message is shown to the user."""


def regions() -> list[Region]:
    """Return the city first, then its counties in seed order."""
    return list(db.session.scalars(select(Region).order_by(Region.position, Region.code)))


def counties() -> list[Region]:
    return [r for r in regions() if not r.is_city]


def set_population(region: Region, *, year: int, population: int, source: str, by: User | None) -> Population:
    """Add or correct `region`'s figure for `year`."""
    if population <= 0:
        raise PopulationError(_l("The population must be a positive number."))
    if not 1949 <= year <= 2200:
        raise PopulationError(_l("The year is out of range."))
    if not source.strip():
        raise PopulationError(_l("Say where the figure comes from."))
    figure = db.session.scalar(
        select(Population).where(Population.region_id == region.id, Population.year == year)
    )
    if figure is None:
        figure = Population(region=region, year=year)
        db.session.add(figure)
    figure.population = population
    figure.source = source.strip()
    figure.updated_by_id = by.id if by is not None else None
    db.session.flush()
    return figure


def years() -> list[int]:
    """Return the years that have at least one figure, newest first."""
    return list(db.session.scalars(select(Population.year).distinct().order_by(Population.year.desc())))


def in_effect(year: int) -> dict[int, Population]:
    """Return region id → the population figure that counts for `year`.

    That is the region's figure for `year`, else its latest figure of an earlier year (the office
    publishes a year's population months after the year ends); a region with no figure up to `year`
    is left out. The figure's own `year` says which year was used.
    """
    latest = (
        select(Population.region_id, func.max(Population.year).label("year"))
        .where(Population.year <= year)
        .group_by(Population.region_id)
        .subquery()
    )
    figures = db.session.scalars(
        select(Population).join(
            latest, (latest.c.region_id == Population.region_id) & (latest.c.year == Population.year)
        )
    )
    return {p.region_id: p for p in figures}
