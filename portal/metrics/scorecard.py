"""The county scorecard: each county's indicators against their targets, and its rank among counties.

Targets come from the 2020 work plan where it sets one, else from the counties taken together:
- approved applications: at least `QUOTA` in every quarter (plan); the running quarter is
  "in progress" until it is met, quarters still to come are not due;
- per-capita open data volume: at least the counties' average, Σ volume / Σ population over the
  counties (the city's own figure also counts the city departments' data, which no county has);
- share of datasets whose volume is measured: at least the counties' share taken together;
- contest entries: at least one work entered in the year's contest (plan: take part), when
  the year has a contest.
Datasets, volume, downloads, API calls, DAU and MAU have no target; they show their rank. The
city's own target is `EXEMPLARY_TARGET` exemplary applications a year. Pure: works on a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from portal.applications.board import EXEMPLARY_TARGET, QUOTA
from portal.metrics.indicators import Figures, Report

MET, NOT_MET, IN_PROGRESS, MISSING, NO_TARGET = "met", "not_met", "in_progress", "missing", "no_target"
DUE, FUTURE = "due", "future"


@dataclass(frozen=True)
class Indicator:
    key: str
    label: object  # lazy string
    target: object | None  # lazy string; None: no target, ranked only


INDICATORS = (
    Indicator("applications", _l("Quarters with an approved application"), _l("1 or more every quarter")),
    Indicator("per_capita_volume", _l("Per-capita volume"), _l("at least the counties' average")),
    Indicator("measured_share", _l("Datasets with measured volume"), _l("at least the counties' share")),
    Indicator("contest_entries", _l("Contest entries"), _l("1 or more in the year")),
    Indicator("datasets", _l("Published datasets"), None),
    Indicator("volume", _l("Data volume"), None),
    Indicator("downloads", _l("Downloads"), None),
    Indicator("api_calls", _l("API calls"), None),
    Indicator("dau", _l("Daily active users"), None),
    Indicator("mau", _l("Monthly active users"), None),
)
KEYS = tuple(i.key for i in INDICATORS)


@dataclass(frozen=True)
class Cell:
    value: int | Decimal | None
    status: str
    rank: int | None = None
    due: int | None = None  # applications: quarters due so far


@dataclass(frozen=True)
class Row:
    figures: Figures
    cells: dict[str, Cell]

    @property
    def targets_met(self) -> int:
        return sum(c.status == MET for c in self.cells.values())

    @property
    def targets(self) -> int:
        return sum(c.status != NO_TARGET for c in self.cells.values())


@dataclass(frozen=True)
class Scorecard:
    year: int
    indicators: tuple[Indicator, ...]
    rows: tuple[Row, ...]
    city: Figures
    exemplary: Cell
    exemplary_target: int = EXEMPLARY_TARGET


def at_least(value: int | Decimal | None, target: int | Decimal | None) -> str:
    """Return MET when `value` reaches `target`, MISSING when either is unknown."""
    if value is None or target is None:
        return MISSING
    return MET if value >= target else NOT_MET


def quarter_states(approved: Sequence[int], quarters: Sequence[str], current: str) -> list[str]:
    """Return per quarter: MET, NOT_MET (over, unmet), IN_PROGRESS (running, unmet) or FUTURE."""
    states = []
    for n, quarter in zip(approved, quarters, strict=True):
        if n >= QUOTA:
            states.append(MET)
        elif quarter == current:
            states.append(IN_PROGRESS)
        else:
            states.append(FUTURE if quarter > current else NOT_MET)
    return states


def applications_cell(approved: Sequence[int], quarters: Sequence[str], current: str) -> Cell:
    """Quarters met out of those due: NOT_MET once a quarter is missed, IN_PROGRESS while one runs."""
    states = quarter_states(approved, quarters, current)
    due = sum(s != FUTURE for s in states)
    met = states.count(MET)
    if NOT_MET in states:
        status = NOT_MET
    elif IN_PROGRESS in states or due < len(states):
        status = IN_PROGRESS
    else:
        status = MET
    return Cell(met, status, due=due)


def yearly_cell(value: int, target: int, *, year_over: bool) -> Cell:
    """A count to reach within the year: IN_PROGRESS until the year is over."""
    if value >= target:
        return Cell(value, MET)
    return Cell(value, NOT_MET if year_over else IN_PROGRESS)


def ranks(values: Sequence[int | Decimal | None]) -> list[int | None]:
    """Rank values highest first, competition style (1, 2, 2, 4); missing values get no rank."""
    known = sorted((v for v in values if v is not None), reverse=True)
    return [None if v is None else known.index(v) + 1 for v in values]


def build(report: Report, *, current_quarter: str) -> Scorecard:
    """Score every county of `report`; `current_quarter` is the quarter now."""
    year_over = current_quarter[:4] > str(report.year)
    scored = [_cells(county, report, current_quarter, year_over) for county in report.counties]
    for key in KEYS:
        for cells, rank in zip(scored, ranks([c[key].value for c in scored]), strict=True):
            cells[key] = replace(cells[key], rank=rank)
    rows = tuple(Row(county, cells) for county, cells in zip(report.counties, scored, strict=True))
    exemplary = yearly_cell(report.city.exemplary, EXEMPLARY_TARGET, year_over=year_over)
    return Scorecard(report.year, INDICATORS, rows, report.city, exemplary)


def _cells(county: Figures, report: Report, current_quarter: str, year_over: bool) -> dict:
    per_capita, share = report.counties_per_capita, report.counties_measured_share
    cells = {
        "applications": applications_cell(county.approved_by_quarter, report.quarters, current_quarter),
        "per_capita_volume": Cell(county.per_capita_volume, at_least(county.per_capita_volume, per_capita)),
        "measured_share": Cell(county.measured_share, at_least(county.measured_share, share)),
        "contest_entries": yearly_cell(county.contest_entries, 1, year_over=year_over)
        if report.contests
        else Cell(county.contest_entries, NO_TARGET),
    }
    for key in KEYS[len(cells) :]:
        cells[key] = Cell(getattr(county, key), NO_TARGET)
    return cells


def sort_rows(rows: Sequence[Row], key: str, *, descending: bool) -> list[Row]:
    """Sort by an indicator, or by "county" (seed order) or "targets_met"; missing values come last."""
    if key not in (*KEYS, "targets_met"):
        return list(reversed(rows)) if descending else list(rows)

    def value(row: Row):
        return row.targets_met if key == "targets_met" else row.cells[key].value

    known = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    return sorted(known, key=value, reverse=descending) + missing
