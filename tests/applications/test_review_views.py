"""The review panel, the return reason on the team's edit page, reading notifications, the header's count."""

from __future__ import annotations

import re

import pytest
from application_factories import admin, make_application

from portal.extensions import db
from portal.notices.models import Notification


def review_forms(page: str) -> dict[str, str]:
    """Return each review form's markup by its data-action."""
    return dict(re.findall(r'<form[^>]*data-action="(\w+)"[^>]*>(.*?)</form>', page, re.S))


@pytest.mark.parametrize(("lang", "legend"), [("zh", "退回团队"), ("en", "Return to the team")])
def test_the_reason_box_belongs_to_the_return_action(app, client, login, lang, legend):
    application = make_application(status="submitted")
    db.session.commit()
    login("admin")
    if lang == "en":
        client.set_cookie("lang", "en")
    forms = review_forms(client.get(f"/applications/{application.id}").get_data(as_text=True))
    assert set(forms) == {"approve", "return"}
    assert "<textarea" not in forms["approve"]
    returned = forms["return"]
    assert f"<legend>{legend}</legend>" in returned
    assert returned.index("<legend>") < returned.index("<textarea") < returned.index('type="submit"')


def test_the_team_sees_the_return_reason_on_its_edit_page(app, client, login):
    member = login("county_member", region_code="330402")
    application = make_application(by=member, status="returned")  # the factory's reason: 请补充截图。
    db.session.commit()
    page = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    notice = re.search(r'data-testid="return-reason".*?</div>', page, re.S).group(0)
    assert "请补充截图。" in notice and "重新提交" in notice


def test_a_draft_edit_page_shows_no_return_reason(app, client, login):
    member = login("county_member", region_code="330402")
    application = make_application(by=member, status="draft")
    db.session.commit()
    page = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert 'data-testid="return-reason"' not in page


def unread(user) -> int:
    db.session.expire_all()
    return db.session.query(Notification).filter_by(user_id=user.id, read_at=None).count()


def test_viewing_the_notification_list_marks_what_it_shows_read(app, client, login):
    member = login("county_member", region_code="330402")
    make_application(by=member, status="approved")
    make_application(by=member, status="returned")
    db.session.commit()
    assert unread(member) == 2
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert page.count('class="notification unread"') == 2  # still highlighted as new this once
    assert unread(member) == 0
    again = client.get("/applications/notifications").get_data(as_text=True)
    assert 'class="notification unread"' not in again and 'data-testid="unread-count"' not in again


def test_opening_the_linked_application_marks_its_notifications_read(app, client, login):
    member = login("county_member", region_code="330402")
    approved = make_application(by=member, status="approved")
    make_application(by=member, status="returned")
    db.session.commit()
    client.get(f"/applications/{approved.id}")
    db.session.expire_all()
    left = db.session.query(Notification).filter_by(user_id=member.id, read_at=None).all()
    assert [n.application_id for n in left] != [] and approved.id not in [n.application_id for n in left]


def test_another_users_notifications_stay_unread(app, client, login):
    office = admin()
    application = make_application(status="submitted")  # notifies the office
    db.session.commit()
    login("admin")
    client.get(f"/applications/{application.id}")
    assert unread(office) == 1


@pytest.mark.parametrize(("lang", "label"), [("zh", "2 条未读通知"), ("en", "2 unread notifications")])
def test_the_headers_count_has_an_accessible_label(app, client, login, lang, label):
    member = login("county_member", region_code="330402")
    make_application(by=member, status="approved")
    make_application(by=member, status="returned")
    db.session.commit()
    if lang == "en":
        client.set_cookie("lang", "en")
    page = client.get("/applications/team").get_data(as_text=True)
    badge = re.search(r'<span[^>]*data-testid="unread-count"[^>]*>2</span>', page).group(0)
    assert f'aria-label="{label}"' in badge
    assert f'<span class="visually-hidden">{label}</span>' in page
