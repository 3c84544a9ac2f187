"""Applications seen by everyone: the showcase of approved ones, an application's page and its files.

Team pages (team_views), the office's review and the quarter board (review_views) add their routes to
this blueprint; `create_app` imports them before it registers it.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from flask_login import current_user

from portal import storage
from portal.applications import domains, evidence, lateness, notifications, permissions, showcase
from portal.applications.forms import ReturnForm
from portal.applications.models import STATUSES, Application, ApplicationFile
from portal.dbtypes import utcnow
from portal.extensions import db, login_manager
from portal.regions import population

bp = Blueprint("applications", __name__, url_prefix="/applications")

PER_PAGE = 24
ID = "int(min=1, max=2147483647)"  # a larger id cannot exist, and SQLite cannot even compare it


@bp.record_once
def _template_helpers(state) -> None:
    """Make the labels and predicates global, so imported macros and the layout see them too."""
    state.app.jinja_env.globals.update(
        application_status_labels=status_labels,
        domain_label=lambda name: domains.label(name, english=is_english()),
        unread_notifications=_unread_notifications,
        dataset_reuses=showcase.reuses_of,  # for the dataset page: the catalogue imports no area above it
        can_register_application=permissions.can_register_application,
        can_follow_application=permissions.can_follow_application,
        can_edit_application=permissions.can_edit_application,
        can_submit_application=permissions.can_submit_application,
        can_review_application=permissions.can_review_application,
        can_mark_application=permissions.can_mark_application,
        can_view_board=permissions.can_view_board,
    )


@bp.get("/")
def index():
    filters = showcase.filters_from(request.args)
    page = db.paginate(showcase.approved(filters), per_page=PER_PAGE, error_out=False)
    return render_template(
        "applications/index.html",
        page=page,
        filters=filters,
        counties=population.counties(),
        domains=domains.domains(),
        quarters=showcase.approved_quarters(),
    )


@bp.get(f"/<{ID}:application_id>")
def detail(application_id: int):
    application = viewable_or_deny(application_id)
    inspect = permissions.can_inspect_application(current_user, application)
    filed_at = lateness.filed_at(application)
    if current_user.is_authenticated and notifications.mark_read_about(
        current_user, application, now=utcnow()
    ):
        db.session.commit()  # opening the application reads its notifications
    return render_template(
        "applications/detail.html",
        application=application,
        uses=evidence.dataset_use(application) if inspect else None,
        return_form=ReturnForm(),
        filed_at=filed_at,
        filed_late=lateness.is_late(application.quarter, filed_at),
    )


@bp.get(f"/<{ID}:application_id>/files/<{ID}:file_id>")
def file(application_id: int, file_id: int):
    application, stored = _file_or_deny(application_id, file_id)
    return _send(application, stored.storage_key, stored.content_type, stored.filename, etag=stored.sha256)


@bp.get(f"/<{ID}:application_id>/files/<{ID}:file_id>/thumbnail")
def thumbnail(application_id: int, file_id: int):
    application, stored = _file_or_deny(application_id, file_id)
    if not stored.thumbnail_key:
        abort(404)
    return _send(application, stored.thumbnail_key, "image/webp", f"{stored.id}-thumbnail.webp")


def viewable_or_deny(application_id: int) -> Application:
    """Load the application, or end the request: 404, sign-in for visitors, 403 for other users."""
    application = db.get_or_404(Application, application_id)
    if not permissions.can_view_application(current_user, application):
        if not current_user.is_authenticated:
            abort(login_manager.unauthorized())
        abort(403)
    return application


def _file_or_deny(application_id: int, file_id: int) -> tuple[Application, ApplicationFile]:
    application = viewable_or_deny(application_id)
    stored = db.session.get(ApplicationFile, file_id)
    if stored is None or stored.application_id != application.id:
        abort(404)
    return application, stored


def _send(application: Application, key: str, content_type: str, name: str, etag: str | bool = False):
    try:
        stream = storage.get_storage().open(key)
    except storage.ObjectNotFound:
        abort(404)
    response = send_file(stream, mimetype=content_type, download_name=name, etag=etag, conditional=True)
    # Files of an application not yet approved must never sit in a shared cache.
    response.headers["Cache-Control"] = (
        "public, max-age=3600" if application.is_approved else "private, no-store"
    )
    return response


def is_english() -> bool:
    return get_locale() is not None and get_locale().language == "en"


def status_labels() -> dict[str, str]:
    """Return each status's name in the current language."""
    labels = {
        "draft": _("Draft"),
        "submitted": pgettext("application status", "Submitted"),
        "approved": _("Approved"),
        "returned": _("Returned"),
    }
    return {s: labels[s] for s in STATUSES}


def _unread_notifications() -> int:
    return notifications.unread_count(current_user) if current_user.is_authenticated else 0
