"""The quarter board: for a year, each county's approved and submitted applications per quarter.

A county meets its quota in a quarter with at least QUOTA approved applications; the city wants at least
EXEMPLARY_TARGET exemplary applications a year. `build` is pure; `quarter_board` reads the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal import clock
from portal.applications import lateness
from portal.applications.models import APPROVED, SUBMITTED, Application
from portal.extensions import db
from portal.regions import population

QUOTA = 1
EXEMPLARY_TARGET = 5


@dataclass(frozen=True)
class County:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Cell:
    quarter: str
    approved: int
    submitted: int  # submitted and awaiting review
    is_current: bool
    is_future: bool
    late: int = 0  # filed after the quarter ended (补报), approved or awaiting review: never meets the quota

    @property
    def met(self) -> bool:
        return self.approved >= QUOTA

    @property
    def state(self) -> str:
        """met, pending (submitted, none approved yet), missing (current quarter), behind, or future."""
        if self.met:
            return "met"
        if self.is_future:
            return "future"
        if self.submitted:
            return "pending"
        return "missing" if self.is_current else "behind"


@dataclass(frozen=True)
class Row:
    county: County
    cells: tuple[Cell, ...]

    @property
    def approved(self) -> int:
        return sum(c.approved for c in self.cells)

    @property
    def submitted(self) -> int:
        return sum(c.submitted for c in self.cells)

    @property
    def quarters_met(self) -> int:
        return sum(c.met for c in self.cells)


@dataclass(frozen=True)
class Board:
    year: int
    quarters: tuple[str, ...]
    rows: tuple[Row, ...]
    current_quarter: str | None  # None when the year is not the current one
    days_left: int | None
    exemplary: int
    exemplary_target: int = EXEMPLARY_TARGET

    @property
    def missing(self) -> list[County]:
        """The counties that have not met their quota in the current quarter yet."""
        if self.current_quarter is None:
            return []
        return [r.county for r in self.rows if not _cell(r, self.current_quarter).met]

    @property
    def exemplary_met(self) -> bool:
        return self.exemplary >= self.exemplary_target


def _cell(row: Row, quarter: str) -> Cell:
    return next(c for c in row.cells if c.quarter == quarter)


def build(
    year: int,
    counties: Sequence[County],
    counts: Mapping[tuple[int, str], tuple[int, ...]],
    *,
    exemplary: int,
    now: datetime,
) -> Board:
    """Lay out the board from (county id, quarter) → (approved, submitted awaiting review[, late]) counts.

    Approved and submitted count on-time filings only; late ones come third.
    """
    current = clock.quarter_of(now)
    year_quarters = tuple(clock.quarters_of(year))
    rows = tuple(
        Row(
            county,
            tuple(
                Cell(
                    q,
                    *counts.get((county.id, q), (0, 0))[:2],
                    is_current=q == current,
                    is_future=clock.parse_quarter(q) > clock.parse_quarter(current),
                    late=(*counts.get((county.id, q), ()), 0, 0, 0)[2],
                )
                for q in year_quarters
            ),
        )
        for county in counties
    )
    this_year = current in year_quarters
    return Board(
        year=year,
        quarters=year_quarters,
        rows=rows,
        current_quarter=current if this_year else None,
        days_left=clock.days_left(current, now) if this_year else None,
        exemplary=exemplary,
    )


def quarter_board(year: int, *, now: datetime) -> Board:
    """Count the year's applications by county and quarter, late filings apart, and lay out the board."""
    year_quarters = clock.quarters_of(year)
    counts: dict[tuple[int, str], list[int]] = {}
    first = lateness.first_submissions().subquery()
    rows = db.session.execute(
        select(Application.region_id, Application.quarter, Application.status, first.c.at)
        .outerjoin(first, first.c.application_id == Application.id)
        .where(Application.quarter.in_(year_quarters), Application.status.in_((APPROVED, SUBMITTED)))
    )
    for region_id, quarter, status, filed_at in rows:
        slot = 2 if lateness.is_late(quarter, filed_at) else 0 if status == APPROVED else 1
        counts.setdefault((region_id, quarter), [0, 0, 0])[slot] += 1
    exemplary = db.session.scalar(
        select(func.count()).where(Application.quarter.in_(year_quarters), Application.is_exemplary.is_(True))
    )
    counties = [County(r.id, r.code, r.name) for r in population.counties()]
    return build(year, counties, {k: tuple(v) for k, v in counts.items()}, exemplary=exemplary or 0, now=now)


def years(*, now: datetime) -> list[int]:
    """Return the years that have applications, and the current one, newest first."""
    found = db.session.scalars(select(func.substr(Application.quarter, 1, 4)).distinct())
    return sorted({int(y) for y in found} | {clock.day_of(now).year}, reverse=True)
