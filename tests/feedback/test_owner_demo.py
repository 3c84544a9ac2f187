"""The demo's data owners (feedback/owner_demo.py): the busiest departments, a request waiting, idempotent."""

from __future__ import annotations

from catalogue_factories import make_dataset, make_department
from factories import make_user
from owner_factories import make_conditional_dataset, make_report
from sqlalchemy import func, select

from portal.accounts.actions import find_by_email
from portal.catalogue import owners
from portal.catalogue.models import AccessRequest
from portal.extensions import db
from portal.feedback.owner_demo import seed_demo_owners


def _demo_world():
    reported, conditional, quiet = (
        make_department(name="jx-a"),
        make_department(name="jx-b"),
        make_department(),
    )
    make_report(make_conditional_dataset(reported, title="公共停车场泊位"))
    make_conditional_dataset(conditional)
    make_conditional_dataset(conditional)
    make_dataset(department=quiet)
    make_department(name="jx-empty")  # no dataset: never chosen
    make_user("developer", email="developer@demo.jiaxing.example")
    db.session.commit()


def test_owners_are_made_for_the_departments_with_most_to_answer(app):
    _demo_world()
    accounts = seed_demo_owners()
    assert [(a.email, a.role) for a in accounts] == [
        ("owner1@demo.jiaxing.example", "data_owner"),
        ("owner2@demo.jiaxing.example", "data_owner"),
    ]
    assert all(a.password for a in accounts)
    bound = [[d.name for d in owners.departments_of(find_by_email(a.email))] for a in accounts]
    assert bound == [["jx-a"], ["jx-b"]]


def test_the_demo_developer_waits_for_the_first_owners_decision(app):
    _demo_world()
    seed_demo_owners()
    request = db.session.scalar(select(AccessRequest))
    assert request.status == "pending"
    assert request.dataset.title == "公共停车场泊位"


def test_running_the_demo_again_adds_nothing(app):
    _demo_world()
    seed_demo_owners()
    again = seed_demo_owners()
    assert [a.password for a in again] == [None, None]
    assert db.session.scalar(select(func.count()).select_from(AccessRequest)) == 1
