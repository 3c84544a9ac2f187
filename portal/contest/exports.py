"""The office's exports of a round: the score matrix and the ranking, as CSV or XLSX.

Figures keep four decimals here (pages show two), so a rank decided below a hundredth can be checked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import Workbook

from portal.contest.results import RoundResults

DECIMALS = 4
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    header: list[str]
    rows: list[list]


def score_matrix(computed: RoundResults) -> Table:
    """One line per submitted sheet: each criterion's raw score, the weighted and the normalised score."""
    criteria = computed.criteria
    header = [_("Track"), _("Entry"), _("Title"), _("Team"), _("County"), _("Judge")]
    header += [f"{c.name} ({c.weight}%, /{c.max_score})" for c in criteria]
    header += [_("Weighted score"), _("Normalised score"), _("Submitted at (UTC)")]
    rows = []
    for sheet in sorted(
        computed.sheets, key=lambda s: (s.assignment.entry.track.position, s.assignment.entry_id)
    ):
        entry = sheet.assignment.entry
        line = [
            entry.track.name,
            entry.id,
            entry.title,
            entry.team.name,
            _county(entry),
            sheet.assignment.judge.display_name,
        ]
        line += [float(sheet.scores[c.id]) if c.id in sheet.scores else None for c in criteria]
        submitted = sheet.assignment.submitted_at
        line += [_round(sheet.total), _round(sheet.normalised), submitted.isoformat() if submitted else ""]
        rows.append(line)
    return Table(header, rows)


def ranking_table(computed: RoundResults) -> Table:
    """One line per entry, in rank order per track, with every figure that decided its rank."""
    tiebreak = computed.round.tiebreak_criteria
    header = [_("Track"), _("Rank"), _("Entry"), _("Title"), _("Team"), _("County"), _("Judges")]
    header += [_("Mean"), _("Trimmed mean"), _("Normalised"), _("Round score")]
    header += [_("Mean of %(name)s", name=c.name) for c in tiebreak]
    header += [_("First submitted (UTC)"), _("Advances")]
    rows = []
    for track, track_rows in computed.tracks:
        for row in track_rows:
            r, entry = row.result, row.entry
            line = [track.name, r.rank, entry.id, entry.title, entry.team.name, _county(entry), r.judges]
            line += [_round(r.mean), _round(r.trimmed), _round(r.normalised), _round(r.score)]
            line += [_round(r.criterion_means.get(c.id)) for c in tiebreak]
            line += [entry.submitted_at.isoformat(), _("Yes") if r.advances else _("No")]
            rows.append(line)
    for entry in computed.disqualified:
        rows.append(
            [entry.track.name, None, entry.id, entry.title, entry.team.name, _county(entry), 0]
            + [None] * (4 + len(tiebreak))
            + [entry.submitted_at.isoformat(), _("Disqualified")]
        )
    return Table(header, rows)


def to_csv(table: Table) -> bytes:
    """Return UTF-8 CSV with a byte-order mark, so that spreadsheet programs read the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(v) for v in table.header])
    writer.writerows(["" if v is None else _cell(v) for v in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
    sheet.append([_cell(v) for v in table.header])
    for row in table.rows:
        sheet.append([_cell(v) for v in row])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell(value):
    """Defuse text a spreadsheet would run as a formula (teams write titles and names)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _county(entry) -> str:
    return entry.team.region.name if entry.team.region else ""
