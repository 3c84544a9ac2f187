"""The office's audit log page: filters (who, what, object, when) and CSV/XLSX export of what they select.

The log itself (portal/audit/) lies in the lowest layer so every area can write to it; its page lives with
the office's other pages."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select

from portal import clock
from portal.accounts.models import ADMIN
from portal.accounts.permissions import role_required
from portal.audit import log
from portal.audit.models import AuditEvent
from portal.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PER_PAGE = 50
FILTER_KEYS = ("who", "what", "object_type", "object_id", "from", "to")
EXPORT_MAX = 100_000  # rows in one export; the CLI's `audit export` has no limit


def _day(name: str) -> datetime | None:
    """A `YYYY-MM-DD` parameter as the start of that day in the city's time; None when absent or bad."""
    raw = request.args.get(name, "")[:10]
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        return None
    return clock.from_local(datetime.combine(day, time()))


def _filters() -> tuple[log.Filters, list[str]]:
    args = request.args
    problems = [
        _("Dates are written as YYYY-MM-DD.")
        for name in ("from", "to")
        if args.get(name) and _day(name) is None
    ][:1]
    until = _day("to")
    filters = log.Filters(
        who=args.get("who", "").strip()[:200],
        what=args.get("what", "").strip()[:60],
        object_type=args.get("object_type", "").strip()[:40],
        object_id=args.get("object_id", "").strip()[:200],
        since=_day("from"),
        until=until + timedelta(days=1) if until else None,
    )
    return filters, problems


@bp.get("/")
@role_required(ADMIN)
def index():
    filters, problems = _filters()
    page = db.paginate(log.search(filters), per_page=PER_PAGE, error_out=False, max_per_page=PER_PAGE)
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    keep = {key: request.args[key][:200] for key in FILTER_KEYS if request.args.get(key)}
    page_html = render_template("admin/audit.html", page=page, args=keep, actions=actions, problems=problems)
    return page_html, 400 if problems else 200


@bp.get("/export.<fmt>")
@role_required(ADMIN)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        return _("Export as csv or xlsx."), 404
    filters, problems = _filters()
    if problems:
        return problems[0], 400
    events = db.session.scalars(log.search(filters).limit(EXPORT_MAX))
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(log.FIELDS)
        writer.writerows(log.as_row(e) for e in events)
        body, mimetype = ("\ufeff" + out.getvalue()).encode(), "text/csv; charset=utf-8"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("audit")
        sheet.append(list(log.FIELDS))
        for event in events:
            sheet.append(log.as_row(event))
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    headers = {"Content-Disposition": f"attachment; filename=audit-{stamp}.{fmt}"}
    return Response(body, mimetype=mimetype, headers=headers)
