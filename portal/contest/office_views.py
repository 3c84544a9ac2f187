"""The office's contest-wide pages beside the set-up: judges' counties, and closing a window now."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import names, refusals
from portal.accounts.models import ADMIN, JUDGE, User
from portal.accounts.permissions import role_required
from portal.contest import closing, forms, panels
from portal.contest.models import Round
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions import population
from portal.regions.models import Region

bp = Blueprint("office", __name__, url_prefix="/admin")


@bp.get("/judges")
@role_required(ADMIN)
def judge_counties():
    return render_template(
        "contest/admin/judge_counties.html", judges=panels.judges_with_counties(), form=_county_form()
    )


@bp.post("/judges/<int:user_id>/county")
@role_required(ADMIN)
def set_judge_county(user_id: int):
    judge = db.get_or_404(User, user_id)
    if judge.role != JUDGE:
        abort(404)
    form = _county_form()
    if not form.validate_on_submit():
        abort(400)
    region = db.session.get(Region, form.region_id.data) if form.region_id.data else None
    return refusals.act(
        lambda: panels.set_county(judge, region),
        then=url_for("contest.office.judge_counties"),
        done=_("The county of %(name)s is saved.", name=judge.display_name),
    )


@bp.route("/rounds/<int:round_id>/close/<what>", methods=["GET", "POST"])
@role_required(ADMIN)
def close_now(round_id: int, what: str):
    round_ = db.get_or_404(Round, round_id)
    if what not in closing.WHATS:
        abort(404)
    form = forms.CloseForm()
    if form.validate_on_submit():
        try:
            closing.close(round_, what, by=current_user, now=utcnow())
        except closing.ClosingError as exc:
            return _confirmation(round_, what, form, refusal=str(exc)), 409
        db.session.commit()
        flash(
            _("Submissions are closed now.") if what == closing.SUBMISSION else _("Judging is closed now."),
            "success",
        )
        return redirect(url_for("contest.admin.round_settings", round_id=round_.id))
    if form.is_submitted():
        abort(400)
    return _confirmation(round_, what, form, refusal=closing.problem(round_, what, utcnow()))


def _confirmation(round_: Round, what: str, form: forms.CloseForm, *, refusal: str | None) -> str:
    return render_template(
        "contest/admin/close.html",
        round=round_,
        what=what,
        form=form,
        refusal=refusal,
        consequences=closing.consequences(round_, what),
    )


def _county_form() -> forms.JudgeCountyForm:
    form = forms.JudgeCountyForm()
    form.region_id.choices = [(0, _("No county"))] + [
        (r.id, names.local_region_name(r.name)) for r in population.counties()
    ]
    return form
