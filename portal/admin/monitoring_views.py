"""The office's behaviour monitoring page (行为监控): one Shanghai day's alerts, heaviest users and tokens,
and the suspended tokens with the button that lifts a suspension. Admins only.

Counting, thresholds and suspension are `portal/accounts/usage.py`; this page only reads and lifts."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import clock
from portal.accounts import usage
from portal.accounts.models import ADMIN, ApiToken
from portal.accounts.permissions import role_required
from portal.extensions import db
from portal.refusals import act

bp = Blueprint("monitoring", __name__, url_prefix="/admin/monitoring")

TOP = 20
EARLIEST = date(2020, 1, 1)


def _day() -> tuple[date, str | None]:
    """The `day` parameter (YYYY-MM-DD, today when absent), or today and the problem with it."""
    raw = request.args.get("day", "")
    today = clock.today()
    if not raw:
        return today, None
    try:
        day = datetime.strptime(raw[:10], "%Y-%m-%d").date() if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return today, _("Dates are written as YYYY-MM-DD.")
    if not EARLIEST <= day <= today:
        return today, _("Choose a day from %(first)s to today.", first=EARLIEST.isoformat())
    return day, None


@bp.get("/")
@role_required(ADMIN)
def index():
    day, problem = _day()
    page = render_template(
        "admin/monitoring.html",
        day=day,
        today=clock.today(),
        problem=problem,
        alerts=db.session.execute(usage.alerts_of(day)).all(),
        users=db.session.execute(usage.top_users(day, TOP)).all(),
        tokens=db.session.execute(usage.top_tokens(day, TOP)).all(),
        suspended=db.session.execute(usage.suspended_tokens()).all(),
        limits=usage.Limits.from_config(current_app.config),
        metrics=usage.METRICS,
    )
    return page, 400 if problem else 200


@bp.post("/tokens/<int:token_id>/lift")
@role_required(ADMIN)
def lift(token_id: int):
    token = db.first_or_404(select(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)))
    note = request.form.get("note", "").strip()[: usage.MAX_REASON]
    return act(
        lambda: usage.lift(db.session, token, current_user, note),
        then=url_for("monitoring.index"),
        done=_("The suspension of the token %(name)s is lifted.", name=token.name),
    )
