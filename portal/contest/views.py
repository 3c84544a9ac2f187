"""The data-open innovation contest: public pages, and the blueprints of teams, judges and the office.

The teams', judges' and office's pages are blueprints nested in this one (`contest.teams.…`,
`contest.judging.…`, `contest.admin.…`, `contest.results.…`), so the app registers the contest once.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from portal.contest import (
    admin_views,
    invitation_views,
    judge_views,
    office_views,
    permissions,
    results,
    results_views,
    setup,
    team_views,
    windows,
)
from portal.contest.models import Contest, Round
from portal.dbtypes import utcnow
from portal.extensions import db

bp = Blueprint("contest", __name__, url_prefix="/contest")
for nested in (
    team_views.bp,
    invitation_views.bp,
    judge_views.bp,
    admin_views.bp,
    office_views.bp,
    results_views.bp,
):
    bp.register_blueprint(nested)


bp.add_app_template_global(permissions, "contest_permissions")
bp.add_app_template_global(windows.phase_labels, "contest_phase_labels")


@bp.app_template_global()
def contest_phase(round_: Round) -> str:
    return windows.phase(round_, utcnow())


@bp.get("/")
def index():
    return render_template("contest/index.html", contests=setup.contests(public=True))


@bp.get("/<int:contest_id>")
def contest(contest_id: int):
    contest = db.get_or_404(Contest, contest_id)
    if not permissions.can_view_contest(current_user, contest):
        abort(404)  # a draft is not there for the public
    return render_template("contest/contest.html", contest=contest)


@bp.get("/<int:contest_id>/rounds/<int:round_id>/ranking")
def ranking(contest_id: int, round_id: int):
    round_ = db.get_or_404(Round, round_id)
    if round_.contest_id != contest_id or not permissions.can_view_results(current_user, round_):
        abort(404)
    return render_template("contest/ranking.html", round=round_, computed=results.compute(round_))
