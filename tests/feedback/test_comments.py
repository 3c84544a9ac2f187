"""Comments' rules (feedback/comments.py): who is new, holding, reports of abuse and hiding, moderation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user
from sqlalchemy import select

from portal.extensions import db
from portal.feedback import comments
from portal.feedback.models import HELD, HIDDEN, REMOVED, SHOWN, CommentReport
from portal.notices.models import Notification

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
RULES = comments.Rules(new_days=7, trusted_after=1, hide_after=3)


def _established(role: str = "developer"):
    """A user with an account older than the rules' days and one approved comment."""
    user = make_user(role)
    user.created_at = NOW - timedelta(days=30)
    first = comments.add(make_dataset(), by=user, text="第一条评论", now=NOW, rules=RULES)
    if first.state == HELD:
        comments.approve(first, by=make_user("admin"), now=NOW)
    return user


def test_a_new_accounts_comment_is_held(app):
    comment = comments.add(make_dataset(), by=make_user(), text="数据很有用", now=NOW, rules=RULES)
    assert comment.state == HELD


def test_an_old_account_without_an_approved_comment_is_still_new(app):
    user = make_user()
    user.created_at = NOW - timedelta(days=300)
    assert comments.add(make_dataset(), by=user, text="你好", now=NOW, rules=RULES).state == HELD


def test_a_young_account_is_new_whatever_it_has_had_approved(app):
    user = make_user()
    comment = comments.add(make_dataset(), by=user, text="你好", now=NOW, rules=RULES)
    comments.approve(comment, by=make_user("admin"), now=NOW)
    assert comments.is_new_author(user, now=NOW, rules=RULES)


def test_an_established_authors_comment_shows_at_once(app):
    user = _established()
    assert comments.add(make_dataset(), by=user, text="更新很及时", now=NOW, rules=RULES).state == SHOWN


def test_the_offices_comments_are_never_held(app):
    assert (
        comments.add(make_dataset(), by=make_user("admin"), text="已更新", now=NOW, rules=RULES).state
        == SHOWN
    )


@pytest.mark.parametrize("text", ["", "   \n\t", "字" * (comments.TEXT_MAX + 1), "有\x00空字符"])
def test_empty_or_oversized_text_is_refused(app, text):
    with pytest.raises(comments.CommentError):
        comments.add(make_dataset(), by=make_user(), text=text, now=NOW, rules=RULES)


def test_a_dataset_that_is_not_published_takes_no_comment(app):
    with pytest.raises(comments.CommentError):
        comments.add(make_dataset(state="withdrawn"), by=make_user(), text="你好", now=NOW, rules=RULES)


def test_reports_hide_a_comment_at_the_threshold_once_per_user(app):
    comment = comments.add(make_dataset(), by=_established(), text="广告内容", now=NOW, rules=RULES)
    first, second, third = make_user(), make_user(), make_user()
    comments.report(comment, by=first, now=NOW, rules=RULES)
    with pytest.raises(comments.CommentError):
        comments.report(comment, by=first, now=NOW, rules=RULES)
    comments.report(comment, by=second, now=NOW, rules=RULES)
    assert (comment.state, comment.reports) == (SHOWN, 2)
    comments.report(comment, by=third, now=NOW, rules=RULES)
    assert (comment.state, comment.reports) == (HIDDEN, 3)
    assert db.session.query(CommentReport).count() == 3


def test_a_report_sent_twice_at_once_counts_once_and_the_second_is_refused(app, monkeypatch):
    """Both requests see no report yet; the second insert breaks the primary key (a 500 on PostgreSQL)."""
    comment = comments.add(make_dataset(), by=_established(), text="广告内容", now=NOW, rules=RULES)
    reporter = make_user()
    comments.report(comment, by=reporter, now=NOW, rules=RULES)
    db.session.commit()
    monkeypatch.setattr(comments, "has_reported", lambda comment, by: False)  # looked before the first
    with pytest.raises(comments.CommentError):
        comments.report(comment, by=reporter, now=NOW, rules=RULES)
    db.session.commit()  # the session is still usable: only the savepoint was rolled back
    db.session.refresh(comment)
    assert comment.reports == 1 and db.session.query(CommentReport).count() == 1


def test_an_author_cannot_report_their_own_comment_nor_anyone_a_held_one(app):
    author = _established()
    shown = comments.add(make_dataset(), by=author, text="你好", now=NOW, rules=RULES)
    with pytest.raises(comments.CommentError):
        comments.report(shown, by=author, now=NOW, rules=RULES)
    held = comments.add(make_dataset(), by=make_user(), text="新用户", now=NOW, rules=RULES)
    with pytest.raises(comments.CommentError):
        comments.report(held, by=author, now=NOW, rules=RULES)
    assert shown.reports == held.reports == 0


def test_approving_a_hidden_comment_forgets_its_reports_but_not_who_reported(app):
    comment = comments.add(make_dataset(), by=_established(), text="有争议", now=NOW, rules=RULES)
    reporters = [make_user() for _ in range(3)]
    for user in reporters:
        comments.report(comment, by=user, now=NOW, rules=RULES)
    comments.approve(comment, by=make_user("admin"), now=NOW)
    assert (comment.state, comment.reports) == (SHOWN, 0)
    with pytest.raises(comments.CommentError):  # the same people cannot hide it again
        comments.report(comment, by=reporters[0], now=NOW, rules=RULES)


def test_removing_needs_a_reason_and_happens_once(app):
    comment = comments.add(make_dataset(), by=make_user(), text="辱骂", now=NOW, rules=RULES)
    admin = make_user("admin")
    with pytest.raises(comments.CommentError):
        comments.remove(comment, by=admin, reason="  ", now=NOW)
    comments.remove(comment, by=admin, reason="含有辱骂内容", now=NOW)
    assert (comment.state, comment.reason, comment.moderated_by_id) == (REMOVED, "含有辱骂内容", admin.id)
    with pytest.raises(comments.CommentError):
        comments.remove(comment, by=admin, reason="再次", now=NOW)
    with pytest.raises(comments.CommentError):
        comments.approve(comment, by=admin, now=NOW)
    [notice] = db.session.scalars(select(Notification).where(Notification.user_id == comment.user_id))
    assert (notice.kind, notice.reason) == (comments.COMMENT_REMOVED, "含有辱骂内容")


def test_the_queue_holds_held_and_hidden_comments_and_a_department_sees_its_own(app):
    ours, theirs = make_department(), make_department(title="秀洲区民政局")
    held = comments.add(make_dataset(department=ours), by=make_user(), text="一", now=NOW, rules=RULES)
    other = comments.add(make_dataset(department=theirs), by=make_user(), text="二", now=NOW, rules=RULES)
    shown = comments.add(
        make_dataset(department=ours), by=make_user("admin"), text="三", now=NOW, rules=RULES
    )
    hidden = comments.add(make_dataset(department=ours), by=_established(), text="四", now=NOW, rules=RULES)
    for _ in range(3):
        comments.report(hidden, by=make_user(), now=NOW, rules=RULES)
    everything = db.session.scalars(comments.queue()).all()
    assert [c.id for c in everything] == [held.id, other.id, hidden.id]
    assert [c.id for c in db.session.scalars(comments.queue([ours.id]))] == [held.id, hidden.id]
    assert shown not in everything
