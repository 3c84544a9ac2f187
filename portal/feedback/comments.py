"""Comments on datasets (issue 17 item 3), with moderation.

Any signed-in user may comment (Markdown, shown as sanitised HTML through catalogue/rendering.py). A comment
by a new author is held until a moderator approves it; "new" is an account younger than `Rules.new_days`
days or with fewer than `Rules.trusted_after` approved comments (the office's own comments are never
held). Anyone signed in may report a shown comment as abusive, once each; at `Rules.hide_after` reports
since a moderator last approved it, it is hidden until one looks again. A moderator approves (shown, the
reports forgotten) or removes with a reason. Who moderates is feedback/permissions.py's rule.

States: held -> shown | removed; shown -> hidden (reports) -> shown | removed; shown -> removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import ADMIN, User
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.feedback.models import HELD, HIDDEN, REMOVED, SHOWN, CommentReport, DatasetComment
from portal.notices import inbox
from portal.refusals import Refusal

TEXT_MAX, REASON_MAX = 2000, 500
COMMENT_REMOVED = "comment_removed"  # the notification's kind
PER_PAGE = 50


class CommentError(Refusal):
    """A comment, report or moderation the rules refuse; nothing was changed."""


@dataclass(frozen=True)
class Rules:
    """The moderation settings (COMMENT_* in portal/config.py)."""

    new_days: int = 7  # an account younger than this is new
    trusted_after: int = 1  # approved comments an author needs before theirs show at once
    hide_after: int = 3  # reports of abuse that hide a shown comment

    @classmethod
    def from_config(cls, config) -> Rules:
        return cls(
            new_days=config["COMMENT_NEW_ACCOUNT_DAYS"],
            trusted_after=config["COMMENT_TRUSTED_AFTER"],
            hide_after=config["COMMENT_HIDE_AFTER_REPORTS"],
        )


def _text(value: str, limit: int, field: str, missing) -> str:
    value = (value or "").strip()
    if not value:
        raise CommentError(missing, fields={field: missing})
    if len(value) > limit:
        message = _l("At most %(count)d characters.", count=limit)
        raise CommentError(message, fields={field: message})
    if "\x00" in value:  # PostgreSQL stores no NUL in text
        message = _l("The text holds a character that cannot be kept (NUL).")
        raise CommentError(message, fields={field: message})
    return value


def is_new_author(user: User, *, now: datetime, rules: Rules) -> bool:
    """Whether `user`'s comments wait for a moderator: a young account, or too few approved comments."""
    if user.role == ADMIN:
        return False
    if user.created_at is None or now - user.created_at < timedelta(days=rules.new_days):
        return True
    approved = db.session.scalar(
        select(func.count())
        .select_from(DatasetComment)
        .where(DatasetComment.user_id == user.id, DatasetComment.state.in_((SHOWN, HIDDEN)))
    )
    return approved < rules.trusted_after


def add(dataset: Dataset, *, by: User, text: str, now: datetime, rules: Rules) -> DatasetComment:
    """Add `by`'s comment on a published dataset, held or shown as the rules say; flush and return it."""
    text = _text(text, TEXT_MAX, "text", _l("Write a comment."))
    if not dataset.is_published:
        raise CommentError(_l("This dataset is not published."))
    held = is_new_author(by, now=now, rules=rules)
    comment = DatasetComment(
        dataset_id=dataset.id,
        user_id=by.id,
        text=text,
        state=HELD if held else SHOWN,
        reports=0,
        created_at=now,
        reason="",
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def has_reported(comment: DatasetComment, user: User) -> bool:
    return db.session.get(CommentReport, (comment.id, user.id)) is not None


def report(comment: DatasetComment, *, by: User, now: datetime, rules: Rules) -> DatasetComment:
    """Count `by`'s report of abuse (once each); hide the comment at `rules.hide_after` reports; flush."""
    if comment.state != SHOWN:
        raise CommentError(_l("This comment is not shown."))
    if comment.user_id == by.id:
        raise CommentError(_l("You cannot report your own comment."))
    if has_reported(comment, by):
        raise CommentError(_l("You have already reported this comment."))
    try:
        with db.session.begin_nested():  # the same report sent twice at once: one is first
            db.session.add(CommentReport(comment_id=comment.id, user_id=by.id, created_at=now))
    except IntegrityError:
        raise CommentError(_l("You have already reported this comment.")) from None
    comment.reports = DatasetComment.reports + 1  # in SQL: concurrent reports each count
    db.session.flush()
    db.session.refresh(comment, ["reports"])
    if comment.reports >= rules.hide_after:
        comment.state = HIDDEN
        db.session.flush()
    return comment


def approve(comment: DatasetComment, *, by: User, now: datetime) -> DatasetComment:
    """Show a held or hidden comment; the reports so far no longer count towards hiding it; flush."""
    if comment.state not in (HELD, HIDDEN):
        raise CommentError(_l("This comment is not waiting for moderation."))
    comment.state, comment.reports = SHOWN, 0
    comment.moderated_at, comment.moderated_by_id, comment.reason = now, by.id, ""
    db.session.flush()
    return comment


def remove(comment: DatasetComment, *, by: User, reason: str, now: datetime) -> DatasetComment:
    """Remove a comment for good; its author is told why in the site (a COMMENT_REMOVED notice); flush."""
    reason = _text(reason, REASON_MAX, "reason", _l("Give the reason for removing the comment."))
    if comment.state == REMOVED:
        raise CommentError(_l("This comment is already removed."))
    comment.state, comment.reason = REMOVED, reason
    comment.moderated_at, comment.moderated_by_id = now, by.id
    inbox.deliver([comment.user_id], COMMENT_REMOVED, now=now, reason=reason)
    db.session.flush()
    return comment


def shown(dataset: Dataset):
    """The dataset's comments everyone sees (shown), oldest first: what the API lists."""
    return visible(dataset, None)


def visible(dataset: Dataset, viewer: User | None):
    """The dataset's comments a viewer sees, oldest first: shown ones, and the viewer's own held ones."""
    states = DatasetComment.state == SHOWN
    if viewer is not None and viewer.is_authenticated:
        states = states | ((DatasetComment.state == HELD) & (DatasetComment.user_id == viewer.id))
    return (
        select(DatasetComment)
        .where(DatasetComment.dataset_id == dataset.id, states)
        .order_by(DatasetComment.id)
    )


def queue(department_ids: list[int] | None = None):
    """Comments waiting for a moderator (held, then hidden; oldest first), of `department_ids`' datasets
    when given (a data owner's), else of all."""
    query = (
        select(DatasetComment)
        .where(DatasetComment.state.in_((HELD, HIDDEN)))
        .order_by(DatasetComment.state, DatasetComment.id)
    )
    if department_ids is not None:
        query = query.join(DatasetComment.dataset).where(Dataset.department_id.in_(department_ids))
    return query


def audit_values(comment: DatasetComment) -> dict:
    """What the audit log keeps of a comment before and after a moderation."""
    return {"state": comment.state, "reports": comment.reports, "reason": comment.reason}
