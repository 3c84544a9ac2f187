"""Comment pages: a dataset's comments (adding one, reporting one as abusive) and the moderation queue.

A refused action (empty or oversized text, a second report, a moderation of a comment that is not waiting)
answers 400 with the page and the reason, and changes nothing; a form field sent twice is a 400 too.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import clock, inputs
from portal.accounts.permissions import role_required
from portal.audit import log as audit_log
from portal.audit import web as audit_web
from portal.catalogue import rendering
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.feedback import comments, permissions
from portal.feedback.models import HELD, CommentReport, DatasetComment

bp = Blueprint("comments", __name__)


def rules() -> comments.Rules:
    return comments.Rules.from_config(current_app.config)


def _field(name: str) -> str:
    """The one value of a form field ("" when absent); the field sent more than once is a 400."""
    values = request.form.getlist(name)
    if len(values) > 1:
        abort(400)
    return values[0] if values else ""


def _page_number() -> int:
    try:
        return inputs.page_number(request.args.get("page"))
    except inputs.BadInput:
        abort(400)


def _published(name: str) -> Dataset:
    if "\x00" in name:  # no dataset has one, and PostgreSQL refuses it in a query
        abort(404)
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name[:200]))
    if dataset is None or not dataset.is_published:
        abort(404)
    return dataset


def _dataset_page(dataset: Dataset, *, problem: str = "", text: str = "", status: int = 200):
    viewer = current_user if current_user.is_authenticated else None
    page = db.paginate(
        comments.visible(dataset, viewer), page=_page_number(), per_page=comments.PER_PAGE, error_out=False
    )
    reported = set()
    if viewer is not None and page.items:
        reported = set(
            db.session.scalars(
                select(CommentReport.comment_id).where(
                    CommentReport.user_id == viewer.id,
                    CommentReport.comment_id.in_([c.id for c in page.items]),
                )
            )
        )
    return render_template(
        "feedback/dataset_comments.html",
        dataset=dataset,
        page=page,
        reported=reported,
        problem=problem,
        text=text,
        can_moderate=permissions.can_moderate_comments(current_user, dataset),
        text_max=comments.TEXT_MAX,
        markdown=rendering.markdown_to_html,
    ), status


@bp.get("/datasets/<name>/comments")
def dataset_comments(name: str):
    return _dataset_page(_published(name))


@bp.post("/datasets/<name>/comments")
@role_required()
def add(name: str):
    dataset = _published(name)
    text = _field("text")
    try:
        added = comments.add(dataset, by=current_user, text=text, now=clock.now(), rules=rules())
    except comments.CommentError as exc:
        db.session.rollback()
        return _dataset_page(dataset, problem=str(exc), text=text[: comments.TEXT_MAX], status=400)
    db.session.commit()
    if added.state == HELD:
        flash(_("Thank you: your comment will show once a moderator approves it."), "success")
    else:
        flash(_("Your comment is published."), "success")
    return redirect(url_for("comments.dataset_comments", name=dataset.name) + f"#comment-{added.id}")


@bp.post("/comments/<int:comment_id>/report")
@role_required()
def report(comment_id: int):
    comment = db.get_or_404(DatasetComment, comment_id)
    dataset = comment.dataset
    if not dataset.is_published:
        abort(404)
    try:
        comments.report(comment, by=current_user, now=clock.now(), rules=rules())
    except comments.CommentError as exc:
        db.session.rollback()
        return _dataset_page(dataset, problem=str(exc), status=400)
    db.session.commit()
    flash(_("Thank you: the moderators will look at this comment."), "success")
    return redirect(url_for("comments.dataset_comments", name=dataset.name))


@bp.get("/admin/comments")
@role_required()
def moderation():
    if not permissions.can_moderate_comments(current_user):
        abort(403)
    return _queue_page()


def _queue_page(*, problem: str = "", status: int = 200):
    query = comments.queue(permissions.moderated_departments(current_user))
    page = db.paginate(query, page=_page_number(), per_page=comments.PER_PAGE, error_out=False)
    return render_template(
        "feedback/comment_queue.html",
        page=page,
        problem=problem,
        reason_max=comments.REASON_MAX,
        markdown=rendering.markdown_to_html,
    ), status


@bp.post("/admin/comments/<int:comment_id>")
@role_required()
def moderate(comment_id: int):
    comment = db.get_or_404(DatasetComment, comment_id)
    if not permissions.can_moderate_comments(current_user, comment.dataset):
        abort(403)
    action, reason = _field("action"), _field("reason")
    if action not in ("approve", "remove"):
        abort(400)
    before = comments.audit_values(comment)
    try:
        if action == "approve":
            comments.approve(comment, by=current_user, now=clock.now())
        else:
            comments.remove(comment, by=current_user, reason=reason, now=clock.now())
    except comments.CommentError as exc:
        db.session.rollback()
        return _queue_page(problem=str(exc), status=400)
    audit_log.record(db.session, f"comment.{action}d", actor=current_user, object_type="dataset_comment",
                     object_id=comment.id, before=before, after=comments.audit_values(comment),
                     client=audit_web.client())  # fmt: skip
    db.session.commit()
    flash(_("The comment is approved.") if action == "approve" else _("The comment is removed."), "success")
    return redirect(_safe_back(comment))


def _safe_back(comment: DatasetComment) -> str:
    """Back to the dataset's comments when the form came from there, else to the queue."""
    if _field("back") == "dataset":
        return url_for("comments.dataset_comments", name=comment.dataset.name)
    return url_for("comments.moderation")
