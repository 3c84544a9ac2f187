"""Email for every workflow (issue 17 item 6) through a real SMTP server (aiosmtpd on 127.0.0.1): an
application returned or approved, a judge assigned, results published, an access request decided; Chinese and
English templates; the per-user opt-out per kind on the account page, which keeps the site's notification."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from application_factories import admin, make_application, team_member
from catalogue_factories import make_dataset, make_department
from contest_factories import (
    assign,
    join,
    make_contest,
    make_entry,
    make_judge,
    make_round,
    make_team,
    score_sheet,
)
from factories import make_user
from owner_factories import make_owner
from sqlalchemy import select

from portal import mail
from portal.accounts import mailing
from portal.applications import workflow
from portal.catalogue import access
from portal.catalogue.models import CONDITIONAL
from portal.contest import panels, results
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.feedback import data_requests, notify, reports
from portal.jobs.models import JobRecord
from portal.notices.models import EmailOptOut, Notification


class Inbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages() if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(app, smtp):
    """Point the app's transport at the SMTP server (the `app` fixture's context stays the test's)."""
    controller, received = smtp
    app.config.update(PUBLIC_BASE_URL="http://portal.example.cn")
    app.extensions["mail"] = mail.SmtpTransport(host="127.0.0.1", port=controller.port)
    return received


def _body(message) -> str:
    return message.get_content()


def test_a_returned_application_mails_each_team_member_with_the_reason(app, inbox):
    members = [team_member("330402"), team_member("330402")]
    elsewhere = team_member("330411")
    application = make_application(code="330402", by=members[0], status="submitted", name="城市停车助手")
    workflow.send_back(application, by=admin(), reason="请补充截图。", now=utcnow())
    db.session.commit()
    for member in members:
        [message] = inbox.to(member.email)
        assert message["Subject"] == "应用“城市停车助手”已退回修改"
        assert "退回理由：请补充截图。" in _body(message)
        assert f"http://portal.example.cn/applications/{application.id}" in _body(message)
    assert inbox.to(elsewhere.email) == []


def test_an_approved_application_mails_the_team(app, inbox):
    member = team_member("330402")
    application = make_application(code="330402", by=member, status="submitted", name="城市停车助手")
    workflow.approve(application, by=admin(), now=utcnow())
    db.session.commit()
    [message] = inbox.to(member.email)
    assert message["Subject"] == "应用“城市停车助手”已审核通过"


def test_an_opted_out_member_still_gets_the_site_notice_but_no_mail(app, inbox):
    muted, other = team_member("330402"), team_member("330402")
    mailing.set_opt_outs(muted.id, [mailing.APPLICATION_APPROVED])
    application = make_application(code="330402", by=other, status="submitted")
    workflow.approve(application, by=admin(), now=utcnow())
    db.session.commit()
    assert inbox.to(muted.email) == [] and len(inbox.to(other.email)) == 1
    notes = db.session.scalars(select(Notification.kind).where(Notification.user_id == muted.id)).all()
    assert notes == ["application_approved"]


def test_opting_out_of_one_kind_keeps_the_others(app, inbox):
    member = team_member("330402")
    mailing.set_opt_outs(member.id, [mailing.APPLICATION_APPROVED])
    application = make_application(code="330402", by=member, status="submitted")
    workflow.send_back(application, by=admin(), reason="缺少说明。", now=utcnow())
    db.session.commit()
    assert len(inbox.to(member.email)) == 1


def test_an_access_decision_mails_the_developer_in_either_language(app, inbox):
    dataset = make_dataset(title="嘉兴市企业信用信息", open_condition=CONDITIONAL)
    developer = make_user("developer")
    asked = access.request_access(developer, dataset, "研究企业信用与营商环境的关系。")
    access.decide(asked, approve=False, reason="用途与数据无关。", by=make_user("admin"))
    db.session.commit()
    [message] = inbox.to(developer.email)
    assert message["Subject"] == "您对“嘉兴市企业信用信息”的数据申请未获批准"
    assert "说明：用途与数据无关。" in _body(message)
    assert "http://portal.example.cn/account/access-requests" in _body(message)
    with app.test_request_context():
        subject, body = mail.render(
            "access_decided",
            {"name": "Li", "dataset": "Credit", "approved": True, "reason": "", "link": "x"},
            "en",
        )
    assert subject == "Your access request for Credit was approved"
    assert "you can download it now" in body


def test_assigning_a_round_mails_each_judge_once_with_their_count(app, inbox):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=1)
    for title in ("公交到站预报", "停车诱导"):
        make_entry(make_team(contest, region_code="330411"), round_, title=title)
    judge = make_judge(round_, region_code="330402")
    report = panels.assign_round(round_, by=make_user("admin"), now=utcnow())
    db.session.commit()
    assert report.created == 2
    [message] = inbox.to(judge.email)
    assert message["Subject"] == f"{contest.name}{round_.name}：您有 2 件参赛作品待评审"
    assert "http://portal.example.cn/contest/judging/" in _body(message)
    [notice] = _notices(judge)  # and in the site
    assert (notice.kind, notice.reason) == (mailing.JUDGE_ASSIGNED, f"{contest.name} · {round_.name}")


def test_results_published_mail_the_teams_accepted_members(app, inbox):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "closed", advance_count=1, notice_days=7)
    team = make_team(contest, region_code="330411")
    member = make_user("developer")
    join(team, member)
    entry = make_entry(team, round_)
    score_sheet(assign(entry, make_judge(round_)), (9, 9, 5))
    bystander = make_user("developer")
    results.publish(round_, by=make_user("admin"), now=utcnow())
    db.session.commit()
    for user in (team.captain, member):
        [message] = inbox.to(user.email)
        assert message["Subject"] == f"“{contest.name}”{round_.name}评审结果已公布"
        assert f"/contest/{contest.id}/rounds/{round_.id}/ranking" in _body(message)
        [notice] = _notices(user)  # and in the site
        assert (notice.kind, notice.reason) == (mailing.RESULTS_PUBLISHED, f"{contest.name} · {round_.name}")
    assert inbox.to(bystander.email) == [] and _notices(bystander) == []


def test_unknown_kinds_are_refused(app):
    user = make_user("developer")
    with pytest.raises(ValueError):
        mailing.set_opt_outs(user.id, ["newsletter"])
    with pytest.raises(ValueError):
        mailing.email([user], "newsletter", {})


def test_every_kind_has_both_templates(app):
    context = {
        "name": "Li", "application": "A", "reason": "r", "link": "http://x", "contest": "C", "round": "R",
        "count": 1, "dataset": "D", "approved": True, "state": "fixed", "reply": "ok",
    }  # fmt: skip
    with app.test_request_context():
        for kind in set(mailing.KINDS) - {mailing.REQUEST_ANSWERED}:  # the data requests' helper adds its own
            for locale in mail.LOCALES:
                subject, body = mail.render(kind, context, locale)
                assert subject and "Li" in body


# The account page: each kind on or off, per user.


def test_the_account_page_saves_opt_outs_and_shows_them(client, login, inbox):
    user = login("developer")
    page = client.get("/account/email")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count('name="receive"') == len(mailing.KINDS)
    kept = [k for k in mailing.KINDS if k != mailing.ACCESS_DECIDED]
    response = client.post("/account/email", data={"receive": kept})
    assert response.status_code == 302
    assert mailing.opted_out(user.id) == {mailing.ACCESS_DECIDED}
    html = client.get("/account/email").get_data(as_text=True)
    assert f'value="{mailing.ACCESS_DECIDED}">' in html
    assert f'value="{mailing.JUDGE_ASSIGNED}" checked>' in html
    # The decision reaches the site's list but not the mailbox.
    dataset = make_dataset(open_condition=CONDITIONAL)
    asked = access.request_access(user, dataset, "研究企业信用与营商环境的关系。")
    access.decide(asked, approve=True, reason="", by=make_user("admin"))
    db.session.commit()
    assert inbox.to(user.email) == []
    assert client.post("/account/email", data={"receive": list(mailing.KINDS)}).status_code == 302
    assert mailing.opted_out(user.id) == set()


def test_an_unknown_kind_on_the_account_page_is_a_400_and_changes_nothing(client, login):
    user = login("developer")
    mailing.set_opt_outs(user.id, [mailing.JUDGE_ASSIGNED])
    db.session.commit()
    response = client.post("/account/email", data={"receive": ["newsletter", mailing.ACCESS_DECIDED]})
    assert response.status_code == 400
    assert mailing.opted_out(user.id) == {mailing.JUDGE_ASSIGNED}


def test_the_account_page_is_for_signed_in_users_only(client, app):
    assert client.get("/account/email").status_code in (302, 401)
    assert client.post("/account/email", data={"receive": []}).status_code in (302, 401)
    assert db.session.scalar(select(db.func.count()).select_from(EmailOptOut)) == 0


def test_mail_is_queued_as_a_job_with_no_secret(app, inbox):
    member = team_member("330402")
    application = make_application(code="330402", by=member, status="submitted")
    workflow.approve(application, by=admin(), now=utcnow())
    db.session.commit()
    jobs = db.session.scalars(select(JobRecord).where(JobRecord.name == "mail.send")).all()
    assert [j.params["to"] for j in jobs] == [member.email]
    assert jobs[0].params["template"] == "application_approved"


def test_the_feedback_answers_honour_the_opt_out(app, inbox):
    reporter, other = make_user("developer"), make_user("developer")
    mailing.set_opt_outs(other.id, [mailing.REPORT_ANSWERED])
    report = reports.file_report(
        make_dataset(title="公交线路"),
        by=reporter,
        kind="wrong_values",
        text="第三行有误",
        now=utcnow(),
        working_days=5,
    )
    db.session.commit()
    sent = notify.notify(
        [reporter, other], notify.REPORT_ANSWERED, report=report, link="http://portal.example.cn/x"
    )
    assert sent == 1
    assert len(inbox.to(reporter.email)) == 1 and inbox.to(other.email) == []


def test_each_reader_gets_the_workflow_mail_in_their_own_language(app, inbox):
    english, chinese, unsaid = team_member("330402"), team_member("330402"), team_member("330402")
    english.language, chinese.language = "en", "zh_CN"
    application = make_application(code="330402", by=english, status="submitted", name="城市停车助手")
    workflow.approve(application, by=admin(), now=utcnow())
    db.session.commit()
    [to_english] = inbox.to(english.email)
    assert to_english["Subject"] == "The application 城市停车助手 was approved"
    assert "Your county's application 城市停车助手 was approved" in _body(to_english)
    for reader in (chinese, unsaid):  # no language saved yet: the default, Chinese
        [message] = inbox.to(reader.email)
        assert message["Subject"] == "应用“城市停车助手”已审核通过"


def test_the_language_signed_in_with_is_the_language_of_the_feedback_mail(app, client, inbox):
    from factories import PASSWORD

    reporter = make_user("developer")
    db.session.commit()
    client.set_cookie("lang", "en")  # the English pages
    signed_in = client.post("/account/sign-in", data={"email": reporter.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    report = reports.file_report(
        make_dataset(title="公交线路"),
        by=reporter,
        kind="wrong_values",
        text="第三行有误",
        now=utcnow(),
        working_days=5,
    )
    reports.fix(report, by=make_user("admin"), reply="已更正。", now=utcnow())
    db.session.commit()
    db.session.expire_all()
    notify.notify(
        [db.session.get(type(reporter), reporter.id)], notify.REPORT_ANSWERED, report=report, link="x"
    )
    [message] = inbox.to(reporter.email)
    assert message["Subject"] == "Your report on 公交线路 was answered"
    assert "is now fixed" in _body(message) and "The reply: 已更正。" in _body(message)


# What a user files reaches who decides it (the office and the department's data owners), never the filer.


def _deciders_world():
    """A department with an owner, an owner of another department, an admin writing in English."""
    department, elsewhere = make_department(title="市交通运输局"), make_department(title="市民政局")
    office = make_user("admin")
    office.language = "en"
    world = {
        "department": department,
        "office": office,
        "owner": make_owner(department),
        "stranger": make_owner(elsewhere),
    }
    db.session.commit()
    return world


def _notices(user) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()


def test_a_new_access_request_tells_the_office_and_the_datasets_owners(app, inbox):
    world = _deciders_world()
    dataset = make_dataset(title="停车场实时数据", department=world["department"], open_condition=CONDITIONAL)
    developer = make_user("developer")
    asked = access.request_access(developer, dataset, "用于开发停车诱导小程序，需要实时数据。")
    db.session.commit()
    [to_owner] = inbox.to(world["owner"].email)
    assert to_owner["Subject"] == "数据集“停车场实时数据”收到一条有条件开放数据申请"
    assert "用于开发停车诱导小程序" in _body(to_owner)
    assert "http://portal.example.cn/admin/access-requests" in _body(to_owner)
    [to_office] = inbox.to(world["office"].email)  # in the reader's language
    assert to_office["Subject"] == "An access request for 停车场实时数据"
    assert inbox.to(world["stranger"].email) == [] and inbox.to(developer.email) == []
    for decider in (world["owner"], world["office"]):
        [notice] = _notices(decider)
        assert (notice.kind, notice.access_request_id) == (mailing.ACCESS_REQUESTED, asked.id)
    assert _notices(world["stranger"]) == [] and _notices(developer) == []


def test_a_new_data_request_tells_the_deciders_and_the_notice_links_to_it(app, client, login, inbox):
    world = _deciders_world()
    requester = login("developer")
    response = client.post(
        "/requests/new",
        data={"title": "全市停车场实时空位", "reason": "做停车导航", "department": world["department"].name},
    )
    assert response.status_code == 302
    [to_owner] = inbox.to(world["owner"].email)
    assert to_owner["Subject"] == "收到一条数据需求：全市停车场实时空位"
    assert response.headers["Location"] in _body(to_owner)
    assert inbox.to(world["office"].email)[0]["Subject"] == "A data request: 全市停车场实时空位"
    assert inbox.to(world["stranger"].email) == [] and inbox.to(requester.email) == []
    [notice] = _notices(world["owner"])
    assert notice.kind == mailing.DATA_REQUESTED and notice.data_request.title == "全市停车场实时空位"
    with client.session_transaction() as session:  # the owner reads it on the notifications page
        session["_user_id"] = world["owner"].get_id()
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert f'href="/requests/{notice.data_request_id}"' in page and "全市停车场实时空位" in page


def test_a_new_error_report_tells_the_deciders_unless_they_opted_out(app, client, login, inbox):
    world = _deciders_world()
    mailing.set_opt_outs(world["office"].id, [mailing.REPORT_FILED])
    dataset = make_dataset(title="公交线路", department=world["department"])
    db.session.commit()
    reporter = login("data_owner")  # an owner elsewhere who files is not told of their own report
    response = client.post(
        f"/datasets/{dataset.name}/reports/new", data={"kind": "wrong_values", "text": "第三行有误"}
    )
    assert response.status_code == 302
    [to_owner] = inbox.to(world["owner"].email)
    assert to_owner["Subject"] == "数据集“公交线路”收到一条数据纠错"
    assert "http://portal.example.cn/admin/reports" in _body(to_owner)
    assert inbox.to(world["office"].email) == []  # opted out of the email, still told in the site
    for decider in (world["owner"], world["office"]):
        [notice] = _notices(decider)
        assert notice.kind == mailing.REPORT_FILED and notice.error_report.dataset_id == dataset.id
    assert _notices(reporter) == [] and inbox.to(reporter.email) == []


def test_an_admin_filing_is_not_told_of_their_own_request(app, inbox):
    world = _deciders_world()
    dataset = make_dataset(department=world["department"])
    report = reports.file_report(
        dataset, by=world["office"], kind="outdated", text="三年未更新", now=utcnow(), working_days=5
    )
    db.session.commit()
    assert notify.report_filed(report, now=utcnow()) == 1  # the owner only
    assert inbox.to(world["office"].email) == [] and _notices(world["office"]) == []


def test_answers_to_a_report_and_a_request_tell_in_the_site_as_well_as_by_email(app, client, login, inbox):
    """Issue 17 item 6: report answered and request answered reach the site's notifications, each linking
    to what was answered, and the email (an opted-out voter keeps the notice)."""
    reporter, voter = make_user("developer"), make_user("developer")
    mailing.set_opt_outs(voter.id, [mailing.REQUEST_ANSWERED])
    dataset = make_dataset(title="公交线路")
    report = reports.file_report(
        dataset, by=reporter, kind="wrong_values", text="第三行有误", now=utcnow(), working_days=5
    )
    asked = data_requests.ask(by=reporter, title="停车场空位", reason="导航", department=None, now=utcnow())
    data_requests.vote(asked, by=voter, now=utcnow())
    db.session.commit()
    login("admin")
    client.post(f"/admin/reports/{report.id}/answer", data={"action": "fix", "reply": "已更正"})
    client.post(f"/requests/{asked.id}/answer", data={"status": "planned", "text": "下季度开放"})
    assert sorted(m["Subject"] for m in inbox.to(reporter.email)) == [
        "您对“公交线路”的数据纠错已有答复",
        "数据需求“停车场空位”已有答复",
    ]
    assert inbox.to(voter.email) == []
    kinds = {(n.kind, n.error_report_id, n.data_request_id) for n in _notices(reporter)}
    assert kinds == {(mailing.REPORT_ANSWERED, report.id, None), (mailing.REQUEST_ANSWERED, None, asked.id)}
    assert [(n.kind, n.data_request_id) for n in _notices(voter)] == [(mailing.REQUEST_ANSWERED, asked.id)]
    with client.session_transaction() as session:  # the reporter reads them on the notifications page
        session["_user_id"] = reporter.get_id()
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert f'href="/datasets/{dataset.name}/reports"' in page and f'href="/requests/{asked.id}"' in page
