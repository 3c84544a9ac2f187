"""Data request pages (数据需求): the public list, asking, one vote each, comments, the office's answer."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import clock, inputs, refusals
from portal.accounts.permissions import role_required
from portal.audit import log as audit_log
from portal.audit import web as audit_web
from portal.catalogue.models import Dataset, Department
from portal.extensions import db
from portal.feedback import data_requests, notify, permissions
from portal.feedback.models import REQUEST_STATUSES, DataRequest, DataRequestComment
from portal.feedback.views import bp

PER_PAGE = 25


@bp.get("/requests/")
def requests_list():
    status = request.args.get("status", "")
    status = status if status in REQUEST_STATUSES else ""
    try:
        number = inputs.page_number(request.args.get("page"))
    except inputs.BadInput:
        abort(400)
    page = db.paginate(data_requests.listing(status or None), page=number, per_page=PER_PAGE, error_out=False)
    return render_template("feedback/requests.html", page=page, status=status)


@bp.route("/requests/new", methods=["GET", "POST"])
@role_required()
def new_request():
    departments = db.session.scalars(select(Department).order_by(Department.title)).all()
    values, problems = request.form, {}
    if request.method == "POST":
        department = None
        if request.form.get("department"):
            department = db.session.scalar(
                select(Department).where(Department.name == request.form["department"])
            )
            if department is None:
                abort(400)
        try:
            asked = data_requests.ask(
                by=current_user,
                title=request.form.get("title", ""),
                reason=request.form.get("reason", ""),
                department=department,
                now=clock.now(),
            )
        except data_requests.RequestError as exc:
            db.session.rollback()
            problems = {key: str(value) for key, value in exc.fields.items()} or {"": str(exc)}
            return render_template(
                "feedback/new_request.html", departments=departments, values=values, problems=problems
            ), 400
        db.session.commit()
        notify.request_filed(asked, now=clock.now())
        flash(_("Your request is published."), "success")
        return redirect(url_for("feedback.request_detail", request_id=asked.id))
    return render_template(
        "feedback/new_request.html", departments=departments, values=values, problems=problems
    )


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int):
    item = db.get_or_404(DataRequest, request_id)
    comments = db.session.scalars(
        select(DataRequestComment)
        .where(DataRequestComment.request_id == item.id)
        .order_by(DataRequestComment.id)
    ).all()
    voted = current_user.is_authenticated and data_requests.has_voted(item, current_user)
    can_answer = permissions.can_answer_request(current_user, item)
    return render_template(
        "feedback/request.html", item=item, comments=comments, voted=voted, can_answer=can_answer
    )


@bp.post("/requests/<int:request_id>/vote")
@role_required()
def vote(request_id: int):
    item = db.get_or_404(DataRequest, request_id)
    return refusals.act(
        lambda: data_requests.vote(item, by=current_user, now=clock.now()),
        then=url_for("feedback.request_detail", request_id=item.id),
        done=_("Your vote is counted."),
    )


@bp.post("/requests/<int:request_id>/comments")
@role_required()
def add_comment(request_id: int):
    item = db.get_or_404(DataRequest, request_id)
    return refusals.act(
        lambda: data_requests.comment(
            item, by=current_user, text=request.form.get("text", ""), now=clock.now()
        ),
        then=url_for("feedback.request_detail", request_id=item.id),
        done=_("Your comment is added."),
    )


@bp.post("/requests/<int:request_id>/answer")
@role_required()
def answer_request(request_id: int):
    item = db.get_or_404(DataRequest, request_id)
    if not permissions.can_answer_request(current_user, item):
        abort(403)
    dataset = None
    if request.form.get("dataset"):
        dataset = db.session.scalar(
            select(Dataset).where(Dataset.name == request.form["dataset"].strip()[:100])
        )
    link = url_for("feedback.request_detail", request_id=item.id, _external=True)

    def run():
        before = {"status": item.status}
        data_requests.answer(
            item,
            by=current_user,
            status=request.form.get("status", ""),
            text=request.form.get("text", ""),
            now=clock.now(),
            dataset=dataset,
        )
        audit_log.record(  # the office's or a data owner's answer: a privileged action
            db.session,
            "data_request.answered",
            actor=current_user,
            object_type="data_request",
            object_id=item.id,
            before=before,
            after={"status": item.status, "answer": item.answer},
            client=audit_web.client(),
        )
        notify.notify(data_requests.people_to_tell(item), notify.REQUEST_ANSWERED, request=item, link=link)

    return refusals.act(
        run, then=url_for("feedback.request_detail", request_id=item.id), done=_("The request is answered.")
    )
