"""The dashboard's tables as CSV and XLSX: counties, scorecard, monthly and quarterly trends, themes.

Figures go out exactly as computed: whole numbers as numbers, per-capita figures and shares as
decimals (0.8125, not 81 %), and a missing figure as an empty cell, never as 0.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from portal.metrics import scorecard, trends
from portal.metrics.dashboard import Dashboard

TABLES = ("counties", "scorecard", "months", "quarters", "themes")
KINDS = ("page_view", "dataset_view", "download", "api_call", "search", "sign_in")


def status_labels() -> dict[str, object]:
    return {
        scorecard.MET: _l("met"),
        scorecard.NOT_MET: _l("not met"),
        scorecard.IN_PROGRESS: _l("in progress"),
        scorecard.MISSING: _l("missing"),
        scorecard.NO_TARGET: _l("no target"),
    }


def kind_labels() -> dict[str, object]:
    return {
        "page_view": _l("Page views"),
        "dataset_view": _l("Dataset views"),
        "download": _l("Downloads"),
        "api_call": _l("API calls"),
        "search": _l("Searches"),
        "sign_in": _l("Sign-ins"),
    }


def counties(board: Dashboard) -> list[list]:
    report = board.report
    header = [
        _l("Code"),
        _l("Region"),
        _l("Published datasets"),
        _l("Resources"),
        _l("Measured datasets"),
        _l("Share measured"),
        _l("Data volume"),
        _l("Population"),
        _l("Population source"),
        _l("Per-capita volume"),
        _l("Population year used"),
        _l("Downloads"),
        _l("API calls"),
        _l("Registered developers"),
        _l("Average DAU"),
        _l("Average MAU"),
        *report.quarters,
        _l("Approved applications"),
        _l("Exemplary applications"),
        _l("Contest entries"),
        _l("Conditional datasets granted"),
        _l("Authorised data volume"),
    ]
    rows = [header]
    for f in report.regions:
        rows.append([
            f.code, f.name, f.datasets, f.resources, f.measured_datasets, f.measured_share, f.volume,
            f.population, f.population_source, f.per_capita_volume, f.population_year, f.downloads,
            f.api_calls, f.developers, f.dau, f.mau, *f.approved_by_quarter, f.applications_approved,
            f.exemplary, f.contest_entries, f.authorised_grants, f.authorised_volume,
        ])  # fmt: skip
    return rows


def scorecard_table(board: Dashboard) -> list[list]:
    labels = status_labels()
    header: list = [_l("Code"), _l("County")]
    for indicator in board.scorecard.indicators:
        header += [indicator.label, _l("%(indicator)s: status", indicator=indicator.label), _l("Rank")]
    rows = [[*header, _l("Targets met")]]
    for row in board.rows:
        values: list = [row.figures.code, row.figures.name]
        for indicator in board.scorecard.indicators:
            cell = row.cells[indicator.key]
            values += [cell.value, labels[cell.status], cell.rank]
        rows.append([*values, f"{row.targets_met}/{row.targets}"])
    return rows


def trend_table(points: tuple[trends.Point, ...], *, quarters: bool) -> list[list]:
    kinds = kind_labels()
    header = [
        _l("Quarter") if quarters else _l("Month"), _l("Days rolled up"), *(kinds[k] for k in KINDS),
        _l("Visitors (sum of daily)"), _l("Average DAU"), _l("MAU") if not quarters else _l("Average MAU"),
        _l("Data volume"), _l("Per-capita volume"),
    ]  # fmt: skip
    if quarters:
        header.append(_l("Approved applications"))
    rows = [header]
    for p in points:
        values = [p.label, p.days, *(p.count(k) for k in KINDS), p.visitors, p.dau, p.mau, p.volume]
        values.append(p.per_capita_volume)
        if quarters:
            values.append(p.applications_approved)
        rows.append(values)
    return rows


def themes_table(board: Dashboard) -> list[list]:
    counties = board.report.counties
    rows = [[_l("Theme"), _l("Priority domain"), board.report.city.name, *(c.name for c in counties)]]
    for theme in board.report.themes.rows:
        counts = theme.counts
        per_county = [None if counts is None else counts.get(c.region_id, 0) for c in counties]
        rows.append([theme.title, _l("yes") if theme.is_priority else _l("no"), theme.city, *per_county])
    return rows


def tables(board: Dashboard) -> dict[str, list[list]]:
    """Return every table by name, each a header row then data rows."""
    return {
        "counties": counties(board),
        "scorecard": scorecard_table(board),
        "months": trend_table(board.trend.months, quarters=False),
        "quarters": trend_table(board.trend.quarters, quarters=True),
        "themes": themes_table(board),
    }


def _plain(value):
    """Return a value openpyxl and csv write as they are: lazy strings become text."""
    if value is None or isinstance(value, int | Decimal | str):
        return value
    return str(value)


def to_csv(rows: list[list]) -> bytes:
    """Return UTF-8 CSV with a byte-order mark, so that Excel reads the Chinese right."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([[_plain(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(named: dict[str, list[list]], titles: dict[str, str]) -> bytes:
    """Return a workbook with one sheet per table, its header in bold and frozen."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in named.items():
        sheet = workbook.create_sheet(titles.get(name, name)[:31])
        for row in rows:
            sheet.append([_plain(v) for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "C2" if name in ("counties", "scorecard") else "B2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def sheet_titles() -> dict[str, str]:
    return {
        "counties": str(_l("Counties")),
        "scorecard": str(_l("Scorecard")),
        "months": str(_l("Months")),
        "quarters": str(_l("Quarters")),
        "themes": str(_l("Themes")),
    }
