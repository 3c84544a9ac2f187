"""The data office's review of applications, and the quarter board with its exports.

The routes join the applications blueprint; `create_app` imports this module before it registers it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock, refusals
from portal.accounts.models import ADMIN, COUNTY_MEMBER
from portal.accounts.permissions import role_required
from portal.applications import board, exports, workflow
from portal.applications.forms import ReturnForm
from portal.applications.models import Application
from portal.applications.views import ID, bp
from portal.dbtypes import utcnow
from portal.extensions import db

EXPORTS = {
    "csv": ("text/csv; charset=utf-8", exports.to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", exports.to_xlsx),
}


@bp.post(f"/<{ID}:application_id>/approve")
@role_required(ADMIN)
def approve(application_id: int):
    application = db.get_or_404(Application, application_id)
    return _review(
        application,
        lambda: workflow.approve(application, by=current_user),
        done=_("The application is approved."),
        already=_("This application was already approved."),
    )


@bp.post(f"/<{ID}:application_id>/return")
@role_required(ADMIN)
def send_back(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        flash(_("Say why the application is returned, so the team can fix it."), "error")
        return redirect(url_for("applications.detail", application_id=application.id))
    return _review(
        application,
        lambda: workflow.send_back(application, by=current_user, reason=form.reason.data),
        done=_("The application is returned to its team."),
        already=_("This application was already returned."),
    )


@bp.post(f"/<{ID}:application_id>/exemplary")
@role_required(ADMIN)
def exemplary(application_id: int):
    application = db.get_or_404(Application, application_id)
    if request.form.get("exemplary") == "1":
        action, done = workflow.mark_exemplary, _("The application is marked as exemplary.")
    else:
        action, done = workflow.unmark_exemplary, _("The exemplary mark is taken off.")
    return _review(
        application, lambda: action(application, by=current_user), done=done, already=_("Nothing changed.")
    )


@bp.get("/board")
@role_required(ADMIN, COUNTY_MEMBER)
def quarter_board():
    now = utcnow()
    year = _year(now)
    return render_template(
        "applications/board.html", board=board.quarter_board(year, now=now), years=board.years(now=now)
    )


@bp.get("/board.<fmt>")
@role_required(ADMIN, COUNTY_MEMBER)
def export_board(fmt: str):
    if fmt not in EXPORTS:
        abort(404)
    now = utcnow()
    year = _year(now)
    content_type, render = EXPORTS[fmt]
    body = render(board.quarter_board(year, now=now))
    disposition = f'attachment; filename="quarter-board-{year}.{fmt}"'
    return Response(body, content_type=content_type, headers={"Content-Disposition": disposition})


def _review(application: Application, action: Callable[[], bool], *, done: str, already: str):
    """Run a review action, commit, and tell the reviewer what happened on the application's page."""
    then = url_for("applications.detail", application_id=application.id)
    return refusals.act(action, then=then, done=done, already=already)


def _year(now) -> int:
    """Return the year asked for, or the current one in Shanghai."""
    year = request.args.get("year", type=int)
    if year is None:
        return clock.day_of(now).year
    if not 2000 <= year <= 2200:
        abort(404)
    return year
