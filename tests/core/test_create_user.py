"""`flask --app wsgi create-user`: accounts of any role from the shell, data owners with their departments."""

from __future__ import annotations

from catalogue_factories import make_department
from sqlalchemy import select

from portal.accounts.models import User
from portal.catalogue import owners
from portal.extensions import db


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_creates_a_data_owner_bound_to_the_named_departments(app, runner):
    make_department(name="jx-jtysj")
    make_department(name="jx-jyj")
    db.session.commit()
    result = runner.invoke(
        args=["create-user", "--email", "Owner@Jiaxing.example", "--name", "交通局数据专员",
              "--role", "data_owner", "--department", "jx-jtysj", "--department", "jx-jyj"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = _user("owner@jiaxing.example")
    assert user.role == "data_owner"
    assert {d.name for d in owners.departments_of(user)} == {"jx-jtysj", "jx-jyj"}
    assert len(result.stdout.strip()) >= 10  # the password, printed once


def test_an_unknown_department_creates_nothing(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "o@jiaxing.example", "--name", "专员", "--role", "data_owner",
              "--department", "no-such-org"]
    )  # fmt: skip
    assert result.exit_code != 0 and "no-such-org" in result.output
    assert _user("o@jiaxing.example") is None


def test_a_data_owner_without_departments_creates_nothing(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "o@jiaxing.example", "--name", "专员", "--role", "data_owner"]
    )
    assert result.exit_code != 0
    assert _user("o@jiaxing.example") is None


def test_a_county_member_gets_their_county(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "t@jiaxing.example", "--name", "南湖团队", "--role", "county_member",
              "--county", "330402"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _user("t@jiaxing.example").region.code == "330402"


def test_an_unknown_role_is_refused(app, runner):
    result = runner.invoke(
        args=["create-user", "--email", "x@jiaxing.example", "--name", "某人", "--role", "boss"]
    )
    assert result.exit_code == 2
    assert _user("x@jiaxing.example") is None
