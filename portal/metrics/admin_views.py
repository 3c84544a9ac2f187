"""The office's statistics dashboard: the county scorecard, trends, and the exports."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from portal.accounts.models import ADMIN
from portal.accounts.permissions import role_required
from portal.dbtypes import utcnow
from portal.feedback import figures
from portal.metrics import dashboard, exports, views

bp = Blueprint("metrics_admin", __name__, url_prefix="/admin/metrics")

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _dashboard() -> dashboard.Dashboard:
    sort, descending = views.requested_sort(dashboard.SORT_KEYS, "county")
    return dashboard.dashboard(
        views.requested_year(),
        now=utcnow(),
        county=request.args.get("county", "")[:12],
        sort=sort,
        descending=descending,
        english=views.is_english(),
    )


@bp.get("/")
@role_required(ADMIN)
def index():
    board = _dashboard()
    feedback = figures.summary(now=utcnow(), year=board.report.year)
    return render_template(
        "metrics/dashboard.html", board=board, status_labels=exports.status_labels(), feedback=feedback
    )


@bp.get("/export.<fmt>")
@role_required(ADMIN)
def export(fmt: str):
    table = request.args.get("table", "counties")
    if fmt not in MIMETYPES or table not in exports.TABLES:
        abort(404)
    board = _dashboard()
    tables = exports.tables(board)
    if fmt == "csv":
        body, name = exports.to_csv(tables[table]), f"metrics-{board.report.year}-{table}.csv"
    else:
        body, name = exports.to_xlsx(tables, exports.sheet_titles()), f"metrics-{board.report.year}.xlsx"
    disposition = f'attachment; filename="{name}"'
    return body, 200, {"Content-Type": MIMETYPES[fmt], "Content-Disposition": disposition}
