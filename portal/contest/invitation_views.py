"""Team invitations' pages: the invitee opens the captain's link and accepts or declines; the captain
withdraws an invitation or removes a member.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from portal.accounts.permissions import role_required
from portal.contest import invitations, permissions
from portal.contest.models import TeamMember
from portal.dbtypes import utcnow
from portal.extensions import db

bp = Blueprint("invitations", __name__)
bp.add_app_template_global(invitations.status_labels, "invitation_labels")

_STATUS = {  # a refusal's HTTP status
    invitations.NotYourInvitation: 403,
    invitations.NotPending: 409,
    invitations.JudgeCannotJoin: 409,
}


@bp.get("/invitations/<token>")
@role_required()
def show(token: str):
    invitation = _invitation(token)
    mine = permissions.can_answer_invitation(current_user, invitation)
    if not (mine or permissions.can_revoke_invitation(current_user, invitation)):
        return _refused(invitation, invitations.NotYourInvitation(invitations.WRONG_ACCOUNT))
    barred = invitations.judges_contest(current_user, invitation.team.contest)
    return render_template("contest/invitation.html", invitation=invitation, form=FlaskForm(), barred=barred)


@bp.post("/invitations/<token>/accept")
@role_required()
def accept(token: str):
    invitation = _invitation(token)
    _check_form()
    try:
        invitations.accept(invitation, by=current_user, now=utcnow())
    except invitations.InvitationError as exc:
        return _refused(invitation, exc)
    db.session.commit()
    flash(_("You joined the team %(name)s.", name=invitation.team.name), "success")
    return redirect(url_for("contest.teams.team", team_id=invitation.team_id))


@bp.post("/invitations/<token>/decline")
@role_required()
def decline(token: str):
    invitation = _invitation(token)
    _check_form()
    try:
        invitations.decline(invitation, by=current_user, now=utcnow())
    except invitations.InvitationError as exc:
        return _refused(invitation, exc)
    db.session.commit()
    flash(_("You declined the invitation."), "success")
    return redirect(url_for("contest.teams.my_teams"))


@bp.post("/teams/<int:team_id>/invitations/<int:invitation_id>/revoke")
@role_required()
def revoke(team_id: int, invitation_id: int):
    invitation = db.get_or_404(TeamMember, invitation_id)
    if invitation.team_id != team_id:
        abort(404)
    if not permissions.can_revoke_invitation(current_user, invitation):
        abort(403)
    _check_form()
    try:
        invitations.revoke(invitation, by=current_user, now=utcnow())
    except invitations.InvitationError as exc:
        return _refused(invitation, exc)
    db.session.commit()
    flash(_("The invitation to %(address)s is withdrawn.", address=invitation.email), "success")
    return redirect(url_for("contest.teams.team", team_id=team_id))


def _invitation(token: str) -> TeamMember:
    invitation = invitations.find(token)
    if invitation is None:
        abort(404)
    return invitation


def _check_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def _refused(invitation: TeamMember, exc: invitations.InvitationError):
    page = render_template("contest/invitation.html", invitation=invitation, error=str(exc), form=None)
    return page, _STATUS.get(type(exc), 403)
