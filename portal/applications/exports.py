"""The quarter board as CSV and XLSX: one row per county, four columns per quarter, then the year."""

from __future__ import annotations

import csv
import io

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from portal.applications.board import Board


def table(board: Board) -> list[list]:
    """Return the header row and one row per county, as plain values."""
    header: list = [str(_l("County code")), str(_l("County"))]
    for quarter in board.quarters:
        header += [
            str(_l("%(quarter)s approved", quarter=quarter)),
            str(_l("%(quarter)s submitted", quarter=quarter)),
            str(_l("%(quarter)s quota met", quarter=quarter)),
            str(_l("%(quarter)s filed late", quarter=quarter)),
        ]
    header += [str(_l("Approved in the year")), str(_l("Quarters met"))]
    rows = [header]
    for row in board.rows:
        values: list = [row.county.code, row.county.name]
        for cell in row.cells:
            values += [cell.approved, cell.submitted, _yes_no(cell.met), cell.late]
        values += [row.approved, row.quarters_met]
        rows.append(values)
    return rows


def summary(board: Board) -> list[list]:
    return [
        [str(_l("Year")), board.year],
        [str(_l("Exemplary applications")), board.exemplary],
        [str(_l("Exemplary target")), board.exemplary_target],
    ]


def to_csv(board: Board) -> bytes:
    """Return the board as UTF-8 CSV with a byte-order mark, so that Excel reads the Chinese right."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table(board))
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(board: Board) -> bytes:
    """Return the board as an XLSX workbook: the grid on the first sheet, the year's summary on the second."""
    workbook = Workbook()
    grid = workbook.active
    grid.title = str(board.year)
    for row in table(board):
        grid.append(row)
    for cell in grid[1]:
        cell.font = Font(bold=True)
    grid.freeze_panes = "C2"
    totals = workbook.create_sheet(str(_l("Summary")))
    for row in summary(board):
        totals.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _yes_no(value: bool) -> str:
    return str(_l("yes")) if value else str(_l("no"))
