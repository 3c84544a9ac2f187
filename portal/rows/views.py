"""The dataset page's table of a loaded resource: every row, paged, searched and sorted on the server.

`/datasets/<name>/resources/<id>/table` shows what /api/v1's rows answer (`rows/preview.py`), masked
alike, to whoever may preview the dataset (the download rule). The file preview links here once the rows
are loaded (the template global `rows_loaded`).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal import inputs
from portal.catalogue import permissions
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db, login_manager
from portal.rows import preview

bp = Blueprint("rows_pages", __name__)


@bp.app_template_global()
def rows_loaded(resource: Resource) -> bool:
    """Tell a template whether the resource's rows are in the store (its table page then exists)."""
    return preview.loaded(db.session, resource) is not None


def _page() -> int:
    try:
        return inputs.optional_number(request.args.get("page"), 1, minimum=1, maximum=preview.MAX_PAGE)
    except inputs.BadInput:
        return 1


@bp.get("/datasets/<name>/resources/<resource_id>/table")
def table(name: str, resource_id: str):
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None or not dataset.is_published:
        abort(404)
    resource = db.session.scalar(
        select(Resource).where(Resource.dataset_id == dataset.id, Resource.ckan_id == resource_id)
    )
    row_table = preview.loaded(db.session, resource) if resource is not None and resource.is_active else None
    if row_table is None:
        abort(404)
    if not permissions.can_preview_dataset(current_user, dataset):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        abort(403)
    shown = preview.page_of(
        db.session,
        row_table,
        q=request.args.get("q", "").strip(),
        sort=request.args.get("sort", ""),
        descending=request.args.get("order") == "desc",
        page=_page(),
    )
    return render_template("rows/table.html", dataset=dataset, resource=resource, rows=shown)
