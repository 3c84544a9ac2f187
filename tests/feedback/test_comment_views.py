"""Comment pages: the permission matrix of commenting, reporting and moderating; hostile input; Markdown
shown sanitised; the moderation queue, audited."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user
from sqlalchemy import select

from portal import clock
from portal.audit.models import AuditEvent
from portal.catalogue import owners
from portal.extensions import db
from portal.feedback import comments
from portal.feedback.models import HELD, HIDDEN, REMOVED, SHOWN, DatasetComment

ROLES = ["admin", "owner", "other_owner", "county_member", "judge", "developer"]
RULES = comments.Rules()


def _owner(department):
    user = make_user("data_owner")
    owners.set_departments(user, [department], by=None)
    return user


def _sign_in(client, user):
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return user


def _as(client, role, department):
    """Sign in as `role`, where owner is the data owner of `department` and other_owner of another one."""
    if role is None:
        return None
    if role == "owner":
        return _sign_in(client, _owner(department))
    if role == "other_owner":
        return _sign_in(client, _owner(make_department(title="秀洲区民政局")))
    return _sign_in(client, make_user(role))


def _comment(dataset, state=HELD, text="这个数据集很有用"):
    author = make_user()
    comment = comments.add(dataset, by=author, text=text, now=clock.now(), rules=RULES)
    if state == SHOWN:
        comments.approve(comment, by=make_user("admin"), now=clock.now())
    db.session.commit()
    return comment


def _state(comment_id: int) -> str:
    db.session.expire_all()
    return db.session.get(DatasetComment, comment_id).state


@pytest.mark.parametrize("role", [None, *ROLES])
def test_everyone_reads_the_shown_comments_and_no_one_else_the_held_ones(client, role):
    department = make_department()
    dataset = make_dataset(department=department)
    shown, held = _comment(dataset, SHOWN, "公开的评论"), _comment(dataset, HELD, "等待审核的评论")
    _as(client, role, department)
    html = client.get(f"/datasets/{dataset.name}/comments").get_data(as_text=True)
    assert f'data-comment="{shown.id}"' in html
    assert f'data-comment="{held.id}"' not in html


@pytest.mark.parametrize("role", [None, *ROLES])
def test_any_signed_in_user_may_comment_and_sees_their_held_comment(client, role):
    department = make_department()
    dataset = make_dataset(department=department)
    user = _as(client, role, department)
    response = client.post(f"/datasets/{dataset.name}/comments", data={"text": "请增加 2025 年的数据"})
    added = db.session.scalars(select(DatasetComment)).all()
    if user is None:
        assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
        assert added == []
        return
    assert response.status_code == 302
    [comment] = added
    assert comment.state == (SHOWN if role == "admin" else HELD)
    html = client.get(f"/datasets/{dataset.name}/comments").get_data(as_text=True)
    assert f'data-comment="{comment.id}" data-state="{comment.state}"' in html


@pytest.mark.parametrize("role", [None, *ROLES])
def test_the_moderation_queue_is_for_the_office_and_data_owners(client, role):
    department = make_department()
    ours = _comment(make_dataset(department=department))
    theirs = _comment(make_dataset(department=make_department(title="海宁市统计局")))
    _as(client, role, department)
    response = client.get("/admin/comments")
    expected = {None: 302, "admin": 200, "owner": 200, "other_owner": 200}.get(role, 403)
    assert response.status_code == expected
    if role in ("admin", "owner"):
        html = response.get_data(as_text=True)
        assert f'data-comment="{ours.id}"' in html
        assert (f'data-comment="{theirs.id}"' in html) == (role == "admin")


@pytest.mark.parametrize("role", [None, *ROLES])
@pytest.mark.parametrize("action", ["approve", "remove"])
def test_only_the_office_and_the_datasets_owners_moderate(client, role, action):
    department = make_department()
    comment = _comment(make_dataset(department=department))
    _as(client, role, department)
    response = client.post(f"/admin/comments/{comment.id}", data={"action": action, "reason": "不相关的广告"})
    allowed = role in ("admin", "owner")
    assert response.status_code == (302 if allowed or role is None else 403)
    assert _state(comment.id) == ({"approve": SHOWN, "remove": REMOVED}[action] if allowed else HELD)


def test_a_moderation_is_audited_before_and_after(client):
    comment = _comment(make_dataset())
    admin = _sign_in(client, make_user("admin"))
    assert (
        client.post(f"/admin/comments/{comment.id}", data={"action": "remove", "reason": "广告"}).status_code
        == 302
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "comment.removed"))
    assert (event.actor_id, event.object_type, event.object_id) == (
        admin.id,
        "dataset_comment",
        str(comment.id),
    )
    assert event.before["state"] == HELD and event.after == {"state": REMOVED, "reports": 0, "reason": "广告"}


def test_three_reports_hide_a_comment_into_the_queue_and_approval_brings_it_back(client):
    dataset = make_dataset()
    comment = _comment(dataset, SHOWN)
    for _ in range(3):
        _sign_in(client, make_user())
        assert client.post(f"/comments/{comment.id}/report").status_code == 302
    assert _state(comment.id) == HIDDEN
    assert f'data-comment="{comment.id}"' not in client.get(f"/datasets/{dataset.name}/comments").get_data(
        as_text=True
    )
    _sign_in(client, make_user("admin"))
    assert f'data-comment="{comment.id}" data-state="hidden"' in client.get("/admin/comments").get_data(
        as_text=True
    )
    assert client.post(f"/admin/comments/{comment.id}", data={"action": "approve"}).status_code == 302
    assert _state(comment.id) == SHOWN


@pytest.mark.parametrize("role", [None, *ROLES])
def test_any_signed_in_user_may_report_a_comment_once(client, role):
    department = make_department()
    comment = _comment(make_dataset(department=department), SHOWN)
    user = _as(client, role, department)
    first = client.post(f"/comments/{comment.id}/report")
    db.session.expire_all()
    if user is None:
        assert first.status_code == 302 and db.session.get(DatasetComment, comment.id).reports == 0
        return
    assert first.status_code == 302
    second = client.post(f"/comments/{comment.id}/report")
    assert second.status_code == 400 and "您已举报过这条评论" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DatasetComment, comment.id).reports == 1


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"text": ""},
        {"text": " \n "},
        {"text": "长" * (comments.TEXT_MAX + 1)},
        {"text": ["一", "二"]},  # the field twice
    ],
)
def test_hostile_comments_are_a_400_and_add_nothing(client, form):
    dataset = make_dataset()
    _sign_in(client, make_user())
    response = client.post(f"/datasets/{dataset.name}/comments", data=form)
    assert response.status_code == 400
    assert db.session.scalars(select(DatasetComment)).all() == []


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"action": "delete"},
        {"action": ["approve", "remove"]},
        {"action": "remove"},  # no reason
        {"action": "remove", "reason": "理" * (comments.REASON_MAX + 1)},
        {"action": "remove", "reason": ["一", "二"]},
    ],
)
def test_hostile_moderations_are_a_400_and_change_nothing(client, form):
    comment = _comment(make_dataset())
    _sign_in(client, make_user("admin"))
    assert client.post(f"/admin/comments/{comment.id}", data=form).status_code == 400
    assert _state(comment.id) == HELD
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("comment.%"))) is None


def test_a_second_approval_is_a_400(client):
    comment = _comment(make_dataset(), SHOWN)
    _sign_in(client, make_user("admin"))
    assert client.post(f"/admin/comments/{comment.id}", data={"action": "approve"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/datasets/no-such/comments", "/comments/999999/report", "/admin/comments/999999"],
)
def test_unknown_datasets_and_comments_are_a_404(client, path):
    _sign_in(client, make_user("admin"))
    response = (
        client.get(path) if path.endswith("/comments") else client.post(path, data={"action": "approve"})
    )
    assert response.status_code == 404


def test_a_withdrawn_datasets_comments_are_gone_and_take_no_report(client):
    dataset = make_dataset()
    comment = _comment(dataset, SHOWN)
    dataset.state = "withdrawn"
    _sign_in(client, make_user())
    assert client.get(f"/datasets/{dataset.name}/comments").status_code == 404
    assert client.post(f"/comments/{comment.id}/report").status_code == 404
    assert client.post(f"/datasets/{dataset.name}/comments", data={"text": "你好"}).status_code == 404


@pytest.mark.parametrize("page", ["abc", "-1", "1" * 30])
def test_bad_page_numbers_are_a_400(client, page):
    dataset = make_dataset()
    _sign_in(client, make_user("admin"))
    assert client.get(f"/datasets/{dataset.name}/comments?page={page}").status_code == 400
    assert client.get(f"/admin/comments?page={page}").status_code == 400


def test_markdown_is_shown_as_sanitised_html(client):
    dataset = make_dataset()
    text = "**很好** <script>alert(1)</script> [链接](javascript:alert(1)) <img src=x onerror=alert(1)>"
    _comment(dataset, SHOWN, text)
    html = client.get(f"/datasets/{dataset.name}/comments").get_data(as_text=True)
    body = html[html.index('class="comment-text"') :]
    body = body[: body.index("</div>")]
    assert "<strong>很好</strong>" in body
    assert "<script" not in body and "<img" not in body and 'href="javascript' not in body
    assert "&lt;script&gt;" in body  # shown as the text it was


def test_the_dataset_page_links_to_its_comments(client):
    dataset = make_dataset()
    db.session.commit()
    html = client.get(f"/datasets/{dataset.name}").get_data(as_text=True)
    assert f'href="/datasets/{dataset.name}/comments"' in html


def test_an_established_users_comment_shows_at_once_through_the_page(client):
    user = make_user()
    user.created_at = clock.now() - timedelta(days=30)
    _sign_in(client, user)
    dataset = make_dataset()
    first = comments.add(dataset, by=user, text="第一条", now=clock.now(), rules=RULES)
    comments.approve(first, by=make_user("admin"), now=clock.now())
    db.session.commit()
    assert client.post(f"/datasets/{dataset.name}/comments", data={"text": "第二条"}).status_code == 302
    assert db.session.scalars(select(DatasetComment.state).order_by(DatasetComment.id)).all() == [
        SHOWN,
        SHOWN,
    ]


def test_the_author_of_a_removed_comment_reads_why_in_their_notifications(client):
    comment = _comment(make_dataset())
    _sign_in(client, make_user("admin"))
    assert (
        client.post(
            f"/admin/comments/{comment.id}", data={"action": "remove", "reason": "含有广告链接"}
        ).status_code
        == 302
    )
    _sign_in(client, db.session.get(type(comment.user), comment.user_id))
    html = client.get("/applications/notifications").get_data(as_text=True)
    assert 'data-kind="comment_removed"' in html and "含有广告链接" in html


HOSTILE = [
    "²",
    "9" * 40,
    "-1",
    "(" * 1001 + "a" + ")" * 1001,
    "%_\\%" * 30 + "名\x01\x1b[31m\u202etxt.exe\x7f",
    "\x00",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_every_field_never_answer_a_server_error(client, value):
    dataset = make_dataset()
    comment = _comment(dataset)
    _sign_in(client, make_user("admin"))
    answers = [
        client.get(f"/datasets/{dataset.name}/comments", query_string={"page": value}),
        client.get("/admin/comments", query_string={"page": value}),
        client.post(f"/datasets/{dataset.name}/comments", data={"text": value}),
        client.post(f"/admin/comments/{comment.id}", data={"action": value, "reason": value, "back": value}),
        client.post(f"/admin/comments/{comment.id}", data={"action": "remove", "reason": value}),
        client.get(f"/datasets/{quote(value, safe='')}/comments"),
    ]
    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
