"""Error report pages: filing a report, the public replies on a dataset, and the office's desk."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import clock, inputs, refusals, storage
from portal.accounts.permissions import role_required
from portal.audit import log as audit_log
from portal.audit import web as audit_web
from portal.catalogue import owners, ratings
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.feedback import notify, permissions, reports
from portal.feedback.models import KINDS, STATES, ErrorReport

bp = Blueprint("feedback", __name__)

PER_PAGE = 25


def _published(name: str) -> Dataset:
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None or not dataset.is_published:
        abort(404)
    return dataset


@bp.get("/datasets/<name>/reports")
def dataset_reports(name: str):
    dataset = _published(name)
    items = db.session.scalars(
        select(ErrorReport)
        .where(ErrorReport.dataset_id == dataset.id)
        .order_by(ErrorReport.created_at.desc())
    ).all()
    return render_template("feedback/dataset_reports.html", dataset=dataset, items=items, now=clock.now())


@bp.route("/datasets/<name>/reports/new", methods=["GET", "POST"])
@role_required()
def new_report(name: str):
    dataset = _published(name)
    values, problems = request.form, {}
    if request.method == "POST":
        resource = None
        if request.form.get("resource"):
            resource = db.session.scalar(
                select(Resource).where(
                    Resource.ckan_id == request.form["resource"], Resource.dataset_id == dataset.id
                )
            )
            if resource is None:
                abort(400)
        upload = request.files.get("screenshot")
        try:
            report = reports.file_report(
                dataset,
                by=current_user,
                kind=request.form.get("kind", ""),
                text=request.form.get("text", ""),
                resource=resource,
                now=clock.now(),
                working_days=current_app.config["REPORT_REPLY_WORKING_DAYS"],
                screenshot=upload.stream if upload and upload.filename else None,
                screenshot_max=current_app.config["REPORT_SCREENSHOT_MAX_BYTES"],
                storage=storage.get_storage(),
            )
        except reports.ReportError as exc:
            db.session.rollback()
            problems = {key: str(value) for key, value in exc.fields.items()} or {"": str(exc)}
            return render_template(
                "feedback/new_report.html", dataset=dataset, kinds=KINDS, values=values, problems=problems
            ), 400
        db.session.commit()
        notify.report_filed(report, now=clock.now())
        flash(_("Thank you: your report was sent to the data office."), "success")
        return redirect(url_for("feedback.dataset_reports", name=dataset.name))
    return render_template(
        "feedback/new_report.html", dataset=dataset, kinds=KINDS, values=values, problems=problems
    )


@bp.get("/admin/reports")
@role_required()
def desk():
    if not permissions.can_see_reports_desk(current_user):
        abort(403)
    state = request.args.get("state", "")
    query = select(ErrorReport).order_by(ErrorReport.created_at.desc())
    if not current_user.is_admin:  # a data owner sees the reports on their departments' datasets
        query = query.where(ErrorReport.dataset_id.in_(owners.owned_dataset_ids(current_user)))
    if state in STATES:
        query = query.where(ErrorReport.state == state)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template("feedback/desk.html", page=page, state=state, now=clock.now())


@bp.post("/admin/reports/<int:report_id>/answer")
@role_required()
def answer(report_id: int):
    report = db.get_or_404(ErrorReport, report_id)
    if not permissions.can_answer_report(current_user, report):
        abort(403)
    action = {"acknowledge": reports.acknowledge, "fix": reports.fix, "reject": reports.reject}.get(
        request.form.get("action", "")
    )
    if action is None:
        abort(400)
    reply = request.form.get("reply", "")
    link = url_for("feedback.dataset_reports", name=report.dataset.name, _external=True)

    def run():
        before = {"state": report.state}
        action(report, by=current_user, reply=reply, now=clock.now())
        audit_log.record(  # the office's or a data owner's answer: a privileged action
            db.session,
            "report.answered",
            actor=current_user,
            object_type="error_report",
            object_id=report.id,
            before=before,
            after={"state": report.state, "reply": report.reply},
            client=audit_web.client(),
        )
        notify.notify([report.reporter], notify.REPORT_ANSWERED, report=report, link=link)

    return refusals.act(run, then=url_for("feedback.desk"), done=_("The report is answered."))


@bp.post("/datasets/<name>/rating")
@role_required()
def rate(name: str):
    dataset = _published(name)
    try:
        stars = inputs.whole_number(request.form.get("stars", ""), strict=True, minimum=1, maximum=5)
    except inputs.BadInput:
        abort(400)
    return refusals.act(
        lambda: ratings.rate(dataset, user_id=current_user.id, stars=stars, now=clock.now()),
        then=url_for("catalogue.dataset", name=dataset.name) + "#feedback",
        done=_("Your rating is saved."),
    )
