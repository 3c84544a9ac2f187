"""The office makes data owners on the admin accounts pages: role, departments, and the audit of both."""

from __future__ import annotations

import pytest
from catalogue_factories import make_department
from factories import make_user
from owner_factories import make_owner
from sqlalchemy import select

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.catalogue import owners
from portal.extensions import db


def _new_account(client, **extra):
    data = {"email": "owner@jiaxing.example", "display_name": "交通局数据专员", "role": "data_owner", **extra}
    return client.post("/admin/users/new", data=data)


def test_the_office_creates_a_data_owner_with_departments(app, client, login):
    admin = login("admin")
    transport, education = make_department(name="jx-jtysj"), make_department(name="jx-jyj")
    db.session.commit()
    response = _new_account(client, departments=[str(transport.id), str(education.id)])
    assert response.status_code == 200  # the page that shows the password once
    user = db.session.scalar(select(User).where(User.email == "owner@jiaxing.example"))
    assert user.role == "data_owner"
    assert {d.name for d in owners.departments_of(user)} == {"jx-jtysj", "jx-jyj"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.departments_changed"))
    assert event.actor_id == admin.id
    assert event.after == {"departments": ["jx-jtysj", "jx-jyj"]}


def test_a_data_owner_without_departments_is_refused_and_not_created(app, client, login):
    login("admin")
    make_department()
    db.session.commit()
    response = _new_account(client)
    assert response.status_code == 400
    assert "at least one department" in response.get_data(as_text=True) or "至少" in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(User).where(User.email == "owner@jiaxing.example")) is None


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "1" * 40])
def test_an_unknown_department_is_a_400_and_creates_nothing(app, client, login, value):
    login("admin")
    make_department()
    db.session.commit()
    assert _new_account(client, departments=[value]).status_code == 400
    assert db.session.scalar(select(User).where(User.email == "owner@jiaxing.example")) is None


def test_departments_for_another_role_are_refused(app, client, login):
    login("admin")
    department = make_department()
    db.session.commit()
    response = _new_account(client, role="developer", departments=[str(department.id)])
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "owner@jiaxing.example")) is None


def test_the_office_changes_an_owners_departments_on_their_page(app, client, login):
    login("admin")
    first, second = make_department(name="jx-a"), make_department(name="jx-b")
    user = make_owner(first)
    db.session.commit()
    page = client.get(f"/admin/users/{user.id}/departments")
    assert page.status_code == 200 and "checked" in page.get_data(as_text=True)
    response = client.post(f"/admin/users/{user.id}/departments", data={"departments": [str(second.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert [d.name for d in owners.departments_of(user)] == ["jx-b"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.departments_changed"))
    assert (event.before, event.after) == ({"departments": ["jx-a"]}, {"departments": ["jx-b"]})


def test_emptying_an_owners_departments_is_refused(app, client, login):
    login("admin")
    department = make_department()
    user = make_owner(department)
    db.session.commit()
    response = client.post(f"/admin/users/{user.id}/departments", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert owners.departments_of(user) == [department]


def test_the_departments_page_is_only_for_data_owners(app, client, login):
    login("admin")
    developer = make_user("developer")
    db.session.commit()
    assert client.get(f"/admin/users/{developer.id}/departments").status_code == 404


@pytest.mark.parametrize("role", ["data_owner", "county_member", "judge", "developer"])
def test_only_the_office_binds_departments(app, client, login, role):
    department = make_department()
    user = make_owner(department)
    db.session.commit()
    login(role)
    assert client.get(f"/admin/users/{user.id}/departments").status_code == 403
    assert client.post(f"/admin/users/{user.id}/departments", data={"departments": []}).status_code == 403


def test_making_someone_a_data_owner_leads_to_choosing_their_departments(app, client, login):
    login("admin")
    user = make_user("developer")
    db.session.commit()
    response = client.post(f"/admin/users/{user.id}/role", data={"role": "data_owner", "region_id": "0"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/users/{user.id}/departments")
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "data_owner"


def test_a_role_change_away_from_data_owner_drops_the_departments_audited(app, client, login):
    login("admin")
    department = make_department(name="jx-jtysj")
    user = make_owner(department)
    db.session.commit()
    client.post(f"/admin/users/{user.id}/role", data={"role": "developer", "region_id": "0"})
    db.session.expire_all()
    assert owners.departments_of(user) == []
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.role_changed", "user.departments_changed"]


def test_the_accounts_list_shows_an_owners_departments(app, client, login):
    login("admin")
    make_owner(make_department(title="嘉兴市交通运输局"), email="owner@jiaxing.example")
    db.session.commit()
    page = client.get("/admin/users?role=data_owner").get_data(as_text=True)
    assert "owner@jiaxing.example" in page and "嘉兴市交通运输局" in page
