"""Judges reach their reviews from the account menu; developers hear of decisions on their access requests
(issue 19 item 15)."""

from __future__ import annotations

import pytest
from catalogue_factories import make_dataset
from factories import make_user

from portal.accounts.models import ADMIN
from portal.applications import notifications
from portal.catalogue import access
from portal.catalogue.models import CONDITIONAL
from portal.extensions import db
from portal.notices.models import Notification


@pytest.fixture
def asked():
    dataset = make_dataset(title="嘉兴市企业信用信息", name="enterprise-credit", open_condition=CONDITIONAL)
    developer = make_user("developer")
    return access.request_access(developer, dataset, "研究企业信用与营商环境的关系。")


def notes_of(user) -> list[Notification]:
    return db.session.scalars(db.select(Notification).where(Notification.user_id == user.id)).all()


def test_approval_notifies_only_the_requester(app, asked):
    office = make_user(ADMIN)
    assert notes_of(asked.user) == []
    access.decide(asked, approve=True, reason="", by=office)
    [note] = notes_of(asked.user)
    assert (note.kind, note.access_request_id, note.read_at) == (
        notifications.ACCESS_APPROVED,
        asked.id,
        None,
    )
    assert notes_of(office) == []
    assert notifications.unread_count(asked.user) == 1


def test_refusal_notifies_the_requester_with_the_reason(app, asked):
    access.decide(asked, approve=False, reason="用途与数据无关。", by=make_user(ADMIN))
    [note] = notes_of(asked.user)
    assert (note.kind, note.reason) == (notifications.ACCESS_REJECTED, "用途与数据无关。")


def test_a_lost_race_sends_no_second_notification(app, asked):
    office = make_user(ADMIN)
    access.decide(asked, approve=True, reason="", by=office)
    with pytest.raises(access.AlreadyDecided):
        access.decide(asked, approve=False, reason="重复。", by=office)
    assert len(notes_of(asked.user)) == 1


@pytest.mark.parametrize(
    ("lang", "approve", "words"),
    [("zh_CN", True, "您对嘉兴市企业信用信息的数据申请已获批准"),
     ("zh_CN", False, "您对嘉兴市企业信用信息的数据申请未获批准"),
     ("en", True, "Your access request for 嘉兴市企业信用信息 was approved"),
     ("en", False, "Your access request for 嘉兴市企业信用信息 was refused")],
)  # fmt: skip
def test_developer_reads_the_decision_with_a_link_to_the_dataset(client, asked, lang, approve, words):
    access.decide(asked, approve=approve, reason="" if approve else "用途与数据无关。", by=make_user(ADMIN))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = asked.user.get_id(), True
    client.set_cookie("lang", lang)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/applications/notifications"' in home  # the menu shows every user their notifications
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert words in page
    assert 'href="/datasets/enterprise-credit"' in page
    assert ("用途与数据无关。" in page) is not approve


@pytest.mark.parametrize(("role", "shown"), [("judge", True), ("developer", False), ("county_member", False),
                                             (ADMIN, False)])  # fmt: skip
def test_only_judges_have_my_judging_in_their_menu(client, login, role, shown):
    login(role)
    page = client.get("/").get_data(as_text=True)
    assert ('href="/contest/judging/"' in page) is shown
    if shown:
        assert client.get("/contest/judging/").status_code == 200


@pytest.mark.parametrize(("lang", "label"), [("zh_CN", "我的评审"), ("en", "My judging")])
def test_my_judging_reads_in_both_languages(client, login, lang, label):
    login("judge")
    client.set_cookie("lang", lang)
    page = client.get("/").get_data(as_text=True)
    assert f'data-testid="my-judging">{label}</a>' in page
