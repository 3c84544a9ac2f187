"""The office's review of access requests, and a user's own requests and downloads."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.accounts.models import ADMIN, DATA_OWNER
from portal.accounts.permissions import role_required
from portal.catalogue import access, downloads, owners, permissions
from portal.catalogue.models import AccessRequest
from portal.extensions import db

bp = Blueprint("access", __name__)

PER_PAGE = 25


@bp.get("/admin/access-requests")
@role_required(ADMIN, DATA_OWNER)
def review():
    """The office sees every request; a data owner those for their departments' datasets."""
    if not permissions.can_review_access_requests(current_user):
        abort(403)
    status = request.args.get("status", "")
    status = status if status in access.STATUSES else ""
    mine = None if current_user.role == ADMIN else owners.owned_dataset_ids(current_user)
    page = db.paginate(
        access.review_queue(status or None, dataset_ids=mine), per_page=PER_PAGE, error_out=False
    )
    return render_template("catalogue/review_access.html", page=page, status=status)


@bp.post("/admin/access-requests/<int:request_id>/decision")
@role_required(ADMIN, DATA_OWNER)
def decide(request_id: int):
    access_request = db.get_or_404(AccessRequest, request_id)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    if current_user.role != ADMIN and not owners.owns_dataset(current_user, access_request.dataset):
        abort(403)
    if not permissions.can_decide_access_request(current_user, access_request):
        flash(_("This request has already been decided."), "error")
        return redirect(url_for("access.review"))
    reason = request.form.get("reason", "")
    return refusals.act(
        lambda: access.decide(access_request, approve=decision == "approve", reason=reason, by=current_user),
        then=url_for("access.review", status=request.args.get("status") or None),
        done=_("The request is approved.") if decision == "approve" else _("The request is rejected."),
    )


@bp.get("/account/access-requests")
@role_required()
def my_requests():
    page = db.paginate(access.requests_of(current_user), per_page=PER_PAGE, error_out=False)
    return render_template("catalogue/my_access_requests.html", page=page)


@bp.get("/account/downloads")
@role_required()
def my_downloads():
    page = db.paginate(downloads.downloads_of(current_user), per_page=PER_PAGE, error_out=False)
    return render_template("catalogue/my_downloads.html", page=page, rows=downloads.with_files(page.items))
