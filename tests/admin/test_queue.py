"""The admin home's work queue: each count follows what waits, only admins see it, and the office hears of
submitted applications (issue 19 item 6)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from application_factories import make_application
from catalogue_factories import make_dataset
from contest_factories import HOUR, make_contest, make_entry, make_judge, make_round, make_team
from factories import make_user

from portal.accounts.models import ADMIN
from portal.admin import queue
from portal.applications import notifications, workflow
from portal.notices.models import Notification
from portal.catalogue import access
from portal.catalogue.models import CONDITIONAL
from portal.contest import panels, results
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.sync.models import FAILED, PARTIAL, SUCCEEDED, SyncRun, SyncSource


def counts(now=None) -> queue.WorkQueue:
    return queue.work_queue(now or utcnow())


def test_applications_count_moves_with_submission_and_review(app):
    application = make_application(status="draft")
    assert counts().applications == 0
    workflow.submit(application, by=application.created_by, now=utcnow())
    assert counts().applications == 1
    workflow.approve(application, by=make_user(ADMIN), now=utcnow())
    assert counts().applications == 0


def test_access_requests_count_moves_with_request_and_decision(app):
    dataset = make_dataset(title="嘉兴市企业信用信息", open_condition=CONDITIONAL)
    developer = make_user("developer")
    assert counts().access_requests == 0
    asked = access.request_access(developer, dataset, "研究企业信用与营商环境的关系。")
    assert counts().access_requests == 1
    access.decide(asked, approve=False, reason="用途不明确。", by=make_user(ADMIN))
    assert counts().access_requests == 0


def test_entries_await_judges_between_submission_close_and_judging_close(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=1)
    entry = make_entry(make_team(contest), round_)
    during_submission = round_.submission_opens_at + HOUR
    assert counts(during_submission).unassigned_entries == 0  # entries are not fixed yet
    assert counts().unassigned_entries == 1
    make_judge(round_, region_code="330411")
    panels.assign_round(round_, by=make_user(ADMIN), now=utcnow())
    assert counts().unassigned_entries == 0
    assert counts(round_.judging_closes_at).unassigned_entries == 0  # too late for a new judge
    assert entry.round_id == round_.id


def test_a_declared_conflict_counts_until_resolved_and_its_entry_awaits_a_judge(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging", judges_per_entry=1)
    make_entry(make_team(contest), round_)
    judge = make_judge(round_, region_code="330411")
    office = make_user(ADMIN)
    panels.assign_round(round_, by=office, now=utcnow())
    [assigned] = panels.assignments_of(judge)
    conflict = panels.declare_conflict(assigned, reason="作品团队成员是我的同事。", by=judge, now=utcnow())
    assert (counts().open_conflicts, counts().unassigned_entries) == (1, 1)
    panels.resolve_conflict(conflict, replace=False, by=office, now=utcnow())
    assert counts().open_conflicts == 0


def test_a_round_waits_for_publication_once_judging_closes(app):
    contest = make_contest(tracks=("智慧交通",))
    round_ = make_round(contest, "judging")
    assert counts().unpublished_rounds == 0
    closed = round_.judging_closes_at + timedelta(minutes=1)
    assert counts(closed).unpublished_rounds == 1
    results.publish(round_, by=make_user(ADMIN), now=closed)
    assert counts(closed).unpublished_rounds == 0


def test_failed_syncs_count_since_the_sources_last_success(app):
    source, other = (
        SyncSource(location="https://ckan.jiaxing.example"),
        SyncSource(location="/srv/嘉兴.jsonl"),
    )
    start = utcnow() - timedelta(days=3)

    def run(where, status, hours):
        db.session.add(SyncRun(source=where, status=status, started_at=start + timedelta(hours=hours)))
        db.session.flush()

    run(source, FAILED, 0)
    assert counts().failed_syncs == 1
    run(source, SUCCEEDED, 1)
    assert counts().failed_syncs == 0
    run(source, FAILED, 2)
    run(source, PARTIAL, 3)
    run(other, FAILED, 0)
    assert counts().failed_syncs == 2


def test_admin_home_lists_the_counts_with_links(client, login):
    make_application(status="submitted")
    login(ADMIN)
    page = client.get("/admin/").get_data(as_text=True)
    item = re.search(
        r'data-task="applications">\s*<a href="([^"]+)"><span class="queue-count" data-count="(\d+)"', page
    )
    assert item and item.group(2) == "1"
    assert client.get(item.group(1).replace("&amp;", "&")).status_code == 200
    for task in (
        "access_requests",
        "unassigned_entries",
        "unpublished_rounds",
        "open_conflicts",
        "failed_syncs",
    ):
        assert f'data-task="{task}"' in page


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh_CN", ["待审核的应用", "待决定的数据申请", "管理大赛", "审核应用"]),
     ("en", ["applications awaiting review", "access requests awaiting a decision", "Manage contests",
             "Review applications"])],
)  # fmt: skip
def test_admin_home_and_menu_read_in_both_languages(client, login, lang, words):
    login(ADMIN)
    client.set_cookie("lang", lang)
    page = client.get("/admin/").get_data(as_text=True)
    for word in words:
        assert word in page


def test_admin_menu_reaches_application_review_and_contest_management(client, login):
    login(ADMIN)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/applications/team?status=submitted"' in page
    assert 'href="/contest/admin/"' in page


@pytest.mark.parametrize(
    ("role", "status"),
    [(ADMIN, 200), ("county_member", 403), ("judge", 403), ("developer", 403), (None, 302)],
)
def test_admin_home_permission_matrix(client, login, role, status):
    if role:
        login(role)
    answer = client.get("/admin/")
    assert answer.status_code == status
    if role is None:
        assert "sign-in" in answer.headers["Location"]


def test_admins_are_notified_when_a_team_submits(app):
    office, away = make_user(ADMIN), make_user(ADMIN, active=False)
    application = make_application(status="draft")
    workflow.submit(application, by=application.created_by, now=utcnow())
    sent = db.session.scalars(
        db.select(Notification).where(Notification.kind == notifications.SUBMITTED)
    ).all()
    assert [(n.user_id, n.application_id) for n in sent] == [(office.id, application.id)]
    assert away.id not in [n.user_id for n in sent]


def test_admin_sees_the_submission_in_notifications(client, login):
    office = login(ADMIN)
    application = make_application(status="submitted", name="南湖区智慧停车")
    db.session.commit()
    assert notifications.unread_count(office) == 1
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert notifications.unread_count(office) == 0  # shown is read (issue 19 item 9)
    assert "南湖区智慧停车" in page and f"/applications/{application.id}" in page
