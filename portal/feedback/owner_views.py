"""A data owner's desk (数源部门工作台): their departments' datasets, requests and reports."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from portal import clock
from portal.accounts.permissions import role_required
from portal.catalogue import owners
from portal.extensions import db
from portal.feedback import owner_desk, permissions

bp = Blueprint("owner", __name__, url_prefix="/owner")

PER_PAGE = 25


@bp.get("/")
@role_required()
def desk():
    if not permissions.can_see_owner_desk(current_user):
        abort(403)
    page = db.paginate(owners.datasets_of(current_user), per_page=PER_PAGE, error_out=False)
    ids = [dataset.id for dataset in page.items]
    return render_template(
        "feedback/owner_desk.html",
        departments=owners.departments_of(current_user),
        summary=owner_desk.summary(current_user),
        page=page,
        request_counts=owners.request_counts(ids),
        open_reports=owner_desk.open_reports_by_dataset(ids),
        access_requests=owner_desk.access_requests(current_user),
        reports=owner_desk.reports(current_user),
        data_requests=owner_desk.data_requests(current_user),
        now=clock.now(),
    )
