"""The workflow in domain code: draft → submitted → approved or returned → submitted again, as history."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from application_factories import (
    admin,
    details,
    incoming,
    make_application,
    png,
    stored_files,
    team_member,
)
from catalogue_factories import make_dataset
from factories import make_user, region
from sqlalchemy import func, select

from portal.applications import notifications, registration, uploads, workflow
from portal.applications.models import Application, ApplicationTransition
from portal.catalogue.models import WITHDRAWN
from portal.extensions import db
from portal.notices.models import Notification
from portal.storage import get_storage

MAY = datetime(2020, 5, 15, 4, 0, tzinfo=UTC)


def register(by, datasets, *, code="330402", token="", submit=False, now=MAY, **fields):
    return registration.register(
        region(code),
        details(datasets, **fields),
        registration.Attachments(),
        by=by,
        token=token,
        store=get_storage(),
        limits=uploads.Limits(),
        submit=submit,
        now=now,
    )


def actions(application: Application) -> list[tuple[str, str | None, str]]:
    return [(t.action, t.from_status, t.to_status) for t in application.transitions]


def test_a_draft_is_registered_for_the_members_county(app):
    member = team_member("330421")
    application, created = register(member, [make_dataset()], code="330421")
    assert created
    assert (application.status, application.region.code, application.quarter) == ("draft", "330421", "2020Q2")
    assert actions(application) == [("create", None, "draft")]
    assert application.transitions[0].actor_id == member.id


def test_the_whole_workflow_is_kept_as_history_with_reasons_and_actors(app):
    member, office = team_member(), admin()
    application, _ = register(member, [make_dataset()])
    assert workflow.submit(application, by=member, now=MAY)
    assert workflow.send_back(application, by=office, reason="截图不清晰", now=MAY)
    assert application.status == "returned"
    registration.revise(
        application,
        details(application.datasets, name="智慧停车导航2.0"),
        registration.Attachments(),
        by=member,
        store=get_storage(),
        limits=uploads.Limits(),
        now=MAY,
    )
    assert workflow.submit(application, by=member, now=MAY)
    assert workflow.approve(application, by=office, now=MAY)
    assert workflow.mark_exemplary(application, by=office, now=MAY)
    assert workflow.unmark_exemplary(application, by=office, now=MAY)
    assert actions(application) == [
        ("create", None, "draft"),
        ("submit", "draft", "submitted"),
        ("return", "submitted", "returned"),
        ("resubmit", "returned", "submitted"),
        ("approve", "submitted", "approved"),
        ("mark_exemplary", "approved", "approved"),
        ("unmark_exemplary", "approved", "approved"),
    ]
    returned = application.transitions[2]
    assert (returned.reason, returned.actor_id) == ("截图不清晰", office.id)
    assert (application.name, application.status, application.is_exemplary) == (
        "智慧停车导航2.0",
        "approved",
        False,
    )
    assert application.submitted_at == MAY and application.approved_at == MAY


def test_each_review_notifies_every_active_member_of_the_county(app):
    member = team_member()
    colleague = team_member()
    make_user(role="county_member", region_code="330402", active=False)
    other_county = team_member("330483")
    application = make_application(by=member, status="submitted")
    workflow.send_back(application, by=admin(), reason="缺少数据说明", now=MAY)
    sent = db.session.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [(n.user_id, n.kind, n.reason) for n in sent] == [
        (member.id, notifications.RETURNED, "缺少数据说明"),
        (colleague.id, notifications.RETURNED, "缺少数据说明"),
    ]
    assert notifications.unread_count(other_county) == 0
    assert notifications.mark_all_read(member, now=MAY) == 1
    assert notifications.unread_count(member) == 0 and notifications.unread_count(colleague) == 1


def test_submitting_twice_changes_the_status_once(app):
    member = team_member()
    application = make_application(by=member)
    assert workflow.submit(application, by=member, now=MAY) is True
    assert workflow.submit(application, by=member, now=MAY) is False
    assert actions(application).count(("submit", "draft", "submitted")) == 1


def test_a_stale_copy_submitted_after_the_status_changed_is_not_stored_again(app):
    member = team_member()
    application = make_application(by=member)
    db.session.commit()
    with db.engine.begin() as other_request:  # submits first, while this one still holds the draft it loaded
        other_request.execute(
            Application.__table__.update().where(Application.id == application.id).values(status="submitted")
        )
    assert application.status == "draft"
    assert workflow.submit(application, by=member, now=MAY) is False
    assert application.status == "submitted"
    assert [t.action for t in application.transitions] == ["create"]


def test_a_submission_needs_a_dataset_a_description_and_a_link(app):
    member = team_member()
    application, _ = register(member, [], description="", web_url="")
    with pytest.raises(workflow.Incomplete) as refused:
        workflow.submit(application, by=member, now=MAY)
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        message = str(refused.value)
    assert "description" in message and "dataset" in message and "Zheliban" in message
    assert application.status == "draft"


def test_registering_and_submitting_at_once_refuses_an_incomplete_application_and_stores_nothing(app):
    with pytest.raises(workflow.Incomplete):
        register(team_member(), [], submit=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0


def test_a_future_quarter_is_refused(app):
    with pytest.raises(registration.DetailsInvalid):
        register(team_member(), [make_dataset()], quarter="2020Q3")


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "  "},
        {"name": "长" * 121},
        {"quarter": "2020Q5"},
        {"domain": "sports"},
        {"web_url": "javascript:alert(1)"},
        {"web_url": "park.example.cn"},
    ],
)
def test_wrong_details_are_refused(app, overrides):
    with pytest.raises(registration.DetailsInvalid):
        register(team_member(), [make_dataset()], **overrides)


def test_only_published_datasets_can_be_claimed(app):
    withdrawn = make_dataset("已撤回的数据集", state=WITHDRAWN)
    with pytest.raises(registration.DetailsInvalid):
        register(team_member(), [make_dataset(), withdrawn])


def test_a_dataset_withdrawn_after_it_was_claimed_may_stay_on_a_returned_application(app):
    member = team_member()
    dataset = make_dataset()
    application = make_application(by=member, datasets=[dataset], status="returned")
    dataset.state = WITHDRAWN
    registration.revise(
        application,
        details([dataset]),
        registration.Attachments(),
        by=member,
        store=get_storage(),
        limits=uploads.Limits(),
        now=MAY,
    )
    assert application.datasets == [dataset]


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_an_application_under_review_or_approved_cannot_be_revised(app, status):
    member = team_member()
    application = make_application(by=member, status=status)
    with pytest.raises(workflow.InvalidTransition):
        registration.revise(
            application,
            details(application.datasets, name="改名"),
            registration.Attachments(),
            by=member,
            store=get_storage(),
            limits=uploads.Limits(),
            now=MAY,
        )
    assert application.name == "智慧停车导航"


@pytest.mark.parametrize("role", ["judge", "developer"])
def test_only_county_members_register(app, role):
    with pytest.raises(workflow.NotAllowed):
        register(make_user(role=role), [make_dataset()])


def test_a_member_cannot_register_for_another_county(app):
    with pytest.raises(workflow.NotAllowed):
        register(team_member("330402"), [make_dataset()], code="330483")


def test_a_member_of_another_county_cannot_submit_or_revise(app):
    application = make_application(code="330402")
    stranger = team_member("330483")
    with pytest.raises(workflow.NotAllowed):
        workflow.submit(application, by=stranger, now=MAY)
    with pytest.raises(workflow.NotAllowed):
        registration.revise(
            application,
            details(application.datasets),
            registration.Attachments(),
            by=stranger,
            store=get_storage(),
            limits=uploads.Limits(),
        )


@pytest.mark.parametrize("role", ["county_member", "judge", "developer"])
def test_only_admins_review(app, role):
    application = make_application(status="submitted")
    user = make_user(role=role)
    with pytest.raises(workflow.NotAllowed):
        workflow.approve(application, by=user, now=MAY)
    with pytest.raises(workflow.NotAllowed):
        workflow.send_back(application, by=user, reason="不行", now=MAY)


def test_a_draft_cannot_be_approved_and_a_return_needs_a_reason(app):
    application = make_application()
    office = admin()
    with pytest.raises(workflow.InvalidTransition):
        workflow.approve(application, by=office, now=MAY)
    application = make_application(status="submitted")
    with pytest.raises(workflow.WorkflowError):
        workflow.send_back(application, by=office, reason="   ", now=MAY)
    assert application.status == "submitted"


def test_only_an_approved_application_can_be_exemplary(app):
    application = make_application(status="submitted")
    with pytest.raises(workflow.InvalidTransition):
        workflow.mark_exemplary(application, by=admin(), now=MAY)
    assert application.is_exemplary is False


def test_approving_twice_changes_it_once(app):
    application = make_application(status="submitted")
    office = admin()
    assert workflow.approve(application, by=office, now=MAY) is True
    assert workflow.approve(application, by=office, now=MAY) is False
    assert [t.action for t in application.transitions].count("approve") == 1


def test_a_form_token_used_again_returns_the_first_application(app):
    member = team_member()
    first, created = register(member, [make_dataset()], token="token-1")
    again, created_again = register(member, [make_dataset()], token="token-1", name="另一个")
    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.name == "智慧停车导航"
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1


def test_two_simultaneous_registrations_with_one_token_store_one_application(app):
    member_id = team_member().id
    dataset_id = make_dataset().id
    db.session.commit()
    barrier, results, errors = threading.Barrier(2), [], []

    def post():
        with app.app_context():
            try:
                from portal.accounts.models import User
                from portal.catalogue.models import Dataset

                member, dataset = db.session.get(User, member_id), db.session.get(Dataset, dataset_id)
                barrier.wait()
                application, created = register(member, [dataset], token="same-token")
                db.session.commit()
                results.append(created)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False, True]
    assert db.session.scalar(select(func.count()).select_from(Application)) == 1
    assert db.session.scalar(select(func.count()).select_from(ApplicationTransition)) == 1


def test_a_refused_registration_stores_no_file(app):
    member = team_member()
    with pytest.raises(uploads.UploadRejected):
        registration.register(
            region("330402"),
            details([make_dataset()]),
            registration.Attachments(screenshots=[incoming(png()), incoming(b"#!/bin/sh\n", "脚本.png")]),
            by=member,
            token="",
            store=get_storage(),
            limits=uploads.Limits(),
            now=MAY,
        )
    db.session.rollback()
    assert stored_files(app) == []
    assert db.session.scalar(select(func.count()).select_from(Application)) == 0
