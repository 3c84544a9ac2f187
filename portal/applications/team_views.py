"""A county team's pages: its workspace, registering, revising and submitting applications, notifications.

The routes join the applications blueprint; `create_app` imports this module before it registers it.
"""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock, formerrors, refusals, storage
from portal.accounts.models import ADMIN, COUNTY_MEMBER
from portal.accounts.permissions import role_required
from portal.applications import (
    claims,
    domains,
    notifications,
    permissions,
    registration,
    uploads,
    workflow,
    workspace,
)
from portal.applications.forms import ApplicationForm
from portal.applications.models import STATUSES, Application, ApplicationFile
from portal.applications.views import ID, bp, is_english, viewable_or_deny
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions import population

PER_PAGE = 25
_DETAILS = ("name", "quarter", "domain", "description", "web_url", "mini_program", "zlb_entry")


@bp.get("/team")
@role_required(ADMIN, COUNTY_MEMBER)
def team():
    filters = workspace.filters_from(request.args)
    page = db.paginate(workspace.visible_to(current_user, filters), per_page=PER_PAGE, error_out=False)
    region = current_user.region
    return render_template(
        "applications/team.html",
        page=page,
        filters=filters,
        region=region,
        standing=workspace.standing(region, now=utcnow()) if region else None,
        awaiting=workspace.awaiting_review() if current_user.is_admin else None,
        counties=population.counties(),
        statuses=STATUSES,
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(COUNTY_MEMBER)
def new():
    form = _form(None)
    if _checked(form, already=()):
        try:
            application, created = registration.register(
                current_user.region,
                _details(form),
                _attachments(form),
                by=current_user,
                token=form.form_token.data or "",
                store=storage.get_storage(),
                limits=uploads.limits_from(current_app.config),
                submit=bool(form.submit_for_review.data),
                grace_days=current_app.config["APPLICATION_LATE_GRACE_DAYS"],
            )
        except refusals.Refusal as exc:
            db.session.rollback()
            formerrors.refuse(form, exc)
        else:
            db.session.commit()
            _flash_saved(application, created)
            return redirect(url_for("applications.detail", application_id=application.id))
    return _form_page(form, None)


@bp.route(f"/<{ID}:application_id>/edit", methods=["GET", "POST"])
@role_required(COUNTY_MEMBER)
def edit(application_id: int):
    application = viewable_or_deny(application_id)
    if not permissions.can_edit_application(current_user, application):
        abort(403)
    form = _form(application)
    if _checked(form, already=application.datasets):
        try:
            registration.revise(
                application,
                _details(form),
                _attachments(form),
                by=current_user,
                store=storage.get_storage(),
                limits=uploads.limits_from(current_app.config),
                submit=bool(form.submit_for_review.data),
                grace_days=current_app.config["APPLICATION_LATE_GRACE_DAYS"],
            )
        except refusals.Refusal as exc:
            db.session.rollback()
            formerrors.refuse(form, exc)
        else:
            db.session.commit()
            _flash_saved(application, True)
            return redirect(url_for("applications.detail", application_id=application.id))
    return _form_page(form, application)


@bp.post(f"/<{ID}:application_id>/submit")
@role_required(COUNTY_MEMBER)
def submit(application_id: int):
    application = viewable_or_deny(application_id)
    if not permissions.can_follow_application(current_user, application):
        abort(403)
    grace_days = current_app.config["APPLICATION_LATE_GRACE_DAYS"]
    return refusals.act(
        lambda: workflow.submit(application, by=current_user, grace_days=grace_days),
        then=url_for("applications.detail", application_id=application.id),
        done=_("The application is submitted for review."),
        already=_("This application was already submitted."),
    )


@bp.post(f"/<{ID}:application_id>/files/<{ID}:file_id>/delete")
@role_required(COUNTY_MEMBER)
def remove_file(application_id: int, file_id: int):
    application = viewable_or_deny(application_id)
    stored = db.get_or_404(ApplicationFile, file_id)
    if not permissions.can_edit_application(current_user, application):
        abort(403)
    return refusals.act(
        lambda: registration.remove_file(application, stored, by=current_user, store=storage.get_storage()),
        then=url_for("applications.edit", application_id=application.id),
        done=_("%(name)s is removed.", name=stored.filename),
    )


@bp.get("/dataset-choices")
@role_required(COUNTY_MEMBER)
def dataset_choices():
    found = claims.find_datasets(request.args.get("q", "")[:100], limit=20)
    return {"items": [claims.choice_json(d, english=is_english()) for d in found]}


@bp.get("/notifications")
@role_required()
def notification_list():
    page = db.paginate(notifications.of_user(current_user), per_page=PER_PAGE, error_out=False)
    fresh = {n.id for n in page.items if n.read_at is None}
    # Shown is read: the page still highlights what was new, the header counts only what is left.
    if notifications.mark_read(current_user, fresh, now=utcnow()):
        db.session.commit()
    return render_template("applications/notifications.html", page=page, fresh=fresh)


@bp.post("/notifications/read")
@role_required()
def read_notifications():
    notifications.mark_all_read(current_user, now=utcnow())
    db.session.commit()
    return redirect(url_for("applications.notification_list"))


def _form(application: Application | None) -> ApplicationForm:
    form = ApplicationForm()  # not obj=: its files would pose as uploads when none is chosen
    now = utcnow()
    choices = clock.recent_quarters(now)
    if application is not None and application.quarter not in choices:
        choices.append(application.quarter)
    form.quarter.choices = [(q, q) for q in choices]
    form.domain.choices = [(d.name, d.title_en if is_english() else d.title) for d in domains.domains()]
    if not form.is_submitted():
        form.form_token.data = secrets.token_hex(16)
        form.quarter.data = clock.quarter_of(now)
        form.dataset_ids.data = []
        if application is not None:
            for name in _DETAILS:
                getattr(form, name).data = getattr(application, name)
            form.dataset_ids.data = [d.id for d in application.datasets]
    return form


def _checked(form: ApplicationForm, *, already) -> bool:
    """Validate the form and the domain's rules in one pass, every problem beside its field."""
    if not form.is_submitted() or form.find.data:
        return False
    valid = form.validate()
    found = registration.problems(
        _details(form), utcnow(), already=already, submit=bool(form.submit_for_review.data)
    )
    return not formerrors.attach(form, found) and valid


def _form_page(form: ApplicationForm, application: Application | None):
    found = claims.find_datasets(form.dataset_q.data or "") if form.find.data else []
    failed = form.is_submitted() and not form.find.data
    return render_template(
        "applications/form.html",
        form=form,
        application=application,
        chosen=claims.by_ids(form.dataset_ids.data or []),
        found=found,
        limits=uploads.limits_from(current_app.config),
    ), (400 if failed else 200)


def _details(form: ApplicationForm) -> registration.Details:
    return registration.Details(
        name=form.name.data or "",
        quarter=form.quarter.data or "",
        domain=form.domain.data or "",
        description=form.description.data or "",
        dataset_ids=form.dataset_ids.data or [],
        web_url=form.web_url.data or "",
        mini_program=form.mini_program.data or "",
        zlb_entry=form.zlb_entry.data or "",
    )


def _attachments(form: ApplicationForm) -> registration.Attachments:
    pdf = form.pdf.data
    return registration.Attachments(
        screenshots=[
            uploads.IncomingFile(f.filename or "", f.stream) for f in form.screenshots.data or [] if f
        ],
        pdf=uploads.IncomingFile(pdf.filename or "", pdf.stream) if pdf else None,
    )


def _flash_saved(application: Application, created: bool) -> None:
    if not created:
        flash(_("This form was already sent; here is the application it saved."), "info")
    elif application.status == "submitted":
        flash(_("The application is submitted for review."), "success")
    else:
        flash(_("The application is saved as a draft."), "success")
