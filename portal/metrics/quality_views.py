"""The quality board's pages: public at /stats/quality (with CSV and XLSX exports), and the office's at
/admin/metrics/quality, which adds the list of broken resources to follow up; a data owner opens it too,
limited to their departments' rows and broken resources."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user

from portal import inputs
from portal.accounts.models import ADMIN, DATA_OWNER
from portal.accounts.permissions import role_required
from portal.catalogue import owners, quality
from portal.dbtypes import utcnow
from portal.metrics import exports, quality_board
from portal.metrics.admin_views import MIMETYPES

bp = Blueprint("quality_board", __name__)

BROKEN_LISTED = 200  # broken resources the office's page lists, newest check first


def _board() -> quality_board.Board:
    """Build the board the query asks for: `days` (7-366) and `county` (a region code); 400 otherwise."""
    try:
        days = inputs.optional_number(
            request.args.get("days"), quality_board.DAYS, minimum=quality_board.MIN_DAYS,
            maximum=quality_board.MAX_DAYS,
        )  # fmt: skip
        county = request.args.get("county", "").strip()
        reuse = current_app.config["CATALOGUE_INDEX_REUSE_SECONDS"]
        return quality_board.board(utcnow(), days=days, county=county, reuse_within=reuse)
    except (inputs.BadInput, quality_board.UnknownCounty):
        abort(400)


@bp.get("/stats/quality")
def index():
    return render_template("metrics/quality.html", board=_board(), broken=None)


@bp.get("/stats/quality/export.<fmt>")
def export(fmt: str):
    table = request.args.get("table", "departments")
    if fmt not in MIMETYPES or table not in quality_board.TABLES:
        abort(404)
    tables = quality_board.tables(_board())
    if fmt == "csv":
        body, name = exports.to_csv(tables[table]), f"quality-{table}.csv"
    else:
        body, name = exports.to_xlsx(tables, quality_board.sheet_titles()), "quality.xlsx"
    disposition = f'attachment; filename="{name}"'
    return body, 200, {"Content-Type": MIMETYPES[fmt], "Content-Disposition": disposition}


@bp.get("/admin/metrics/quality")
@role_required(ADMIN, DATA_OWNER)
def admin():
    """The office's board; a data owner's shows their departments' rows and broken resources only."""
    board, mine = _board(), None
    if current_user.role != ADMIN:
        departments = owners.departments_of(current_user)
        if not departments:
            abort(403)
        names, mine = {d.name for d in departments}, [d.id for d in departments]
        board = replace(board, departments=[r for r in board.departments if r["organization"] in names])
    broken = quality.broken_resources(BROKEN_LISTED, mine)
    return render_template("metrics/quality.html", board=board, broken=broken)
