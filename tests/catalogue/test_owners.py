"""Data owners' bindings to departments (catalogue/owners.py): the rules, the audit, who is told."""

from __future__ import annotations

import pytest
from catalogue_factories import make_dataset, make_department
from factories import make_user
from owner_factories import make_owner
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.catalogue import owners
from portal.extensions import db


def test_binding_departments_is_audited_with_names_before_and_after(app):
    transport, education = make_department(name="jx-jtysj"), make_department(name="jx-jyj")
    admin, user = make_user("admin"), make_user("data_owner")
    owners.set_departments(user, [transport], by=admin)
    owners.set_departments(user, [education, transport], by=admin)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.departments_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.before, e.after) for e in events] == [
        ({"departments": []}, {"departments": ["jx-jtysj"]}),
        ({"departments": ["jx-jtysj"]}, {"departments": ["jx-jtysj", "jx-jyj"]}),
    ]
    assert events[0].actor_id == admin.id and events[0].object_id == str(user.id)


def test_binding_the_same_departments_again_changes_and_audits_nothing(app):
    department = make_department()
    user = make_owner(department)
    owners.set_departments(user, [department], by=None)
    assert (
        db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "user.departments_changed"))
        is None
    )


def test_a_data_owner_needs_at_least_one_department(app):
    user = make_owner(make_department())
    with pytest.raises(owners.OwnerError):
        owners.set_departments(user, [], by=None)


@pytest.mark.parametrize("role", ["admin", "county_member", "judge", "developer"])
def test_only_data_owners_are_bound(app, role):
    with pytest.raises(owners.OwnerError):
        owners.set_departments(make_user(role), [make_department()], by=None)


def test_bindings_are_removed_once_the_role_is_no_longer_data_owner(app):
    department = make_department()
    user = make_owner(department)
    user.role = "developer"
    owners.set_departments(user, [], by=None)
    assert owners.departments_of(user) == []


def test_an_owner_owns_their_departments_datasets_only(app):
    mine, theirs = make_department(), make_department()
    user = make_owner(mine)
    assert owners.owns_dataset(user, make_dataset(department=mine))
    assert not owners.owns_dataset(user, make_dataset(department=theirs))
    assert not owners.owns_dataset(user, make_dataset(department=None))


def test_a_former_or_deactivated_owner_owns_nothing(app):
    department = make_department()
    former, deactivated = make_owner(department), make_owner(department)
    former.role = "developer"  # bindings left behind count for nothing
    deactivated.active = False
    for user in (former, deactivated):
        assert owners.department_ids(user) == set()
        assert not owners.owns_department(user, department.id)
    assert owners.owners_of(department.id) == []


def test_owners_of_a_department_are_its_active_data_owners(app):
    department = make_department()
    first, second = make_owner(department), make_owner(department)
    make_owner(make_department())
    assert owners.owners_of(department.id) == [first, second]
    assert owners.owners_of(None) == []


def test_the_owners_datasets_are_the_published_ones_most_downloaded_first(app):
    department = make_department()
    user = make_owner(department)
    quiet = make_dataset(department=department, download_count=3)
    busy = make_dataset(department=department, download_count=40)
    make_dataset(department=department, state="withdrawn")
    make_dataset(department=make_department(), download_count=99)
    assert db.session.scalars(owners.datasets_of(user)).all() == [busy, quiet]


def test_anyone_but_a_data_owner_has_no_datasets_to_answer_for(app):
    make_dataset(department=make_department())
    assert db.session.scalars(owners.owned_dataset_ids(make_user("admin"))).all() == []
