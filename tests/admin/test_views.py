"""The data office manages accounts and population figures."""

from __future__ import annotations

import re

from factories import make_user, region
from sqlalchemy import func, select

from portal.accounts import actions
from portal.accounts.models import User
from portal.extensions import db
from portal.regions.models import Population


def test_admin_creates_a_county_member_and_sees_the_password_once(client, login):
    login("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "email": "haining@example.cn",
            "display_name": "海宁团队",
            "role": "county_member",
            "region_id": region("330481").id,
        },
    )
    assert response.status_code == 200
    password = re.search(r'data-testid="password">([^<]+)<', response.get_data(as_text=True)).group(1)
    user = db.session.scalar(select(User).where(User.email == "haining@example.cn"))
    assert user.region.name == "海宁市"
    assert actions.authenticate("haining@example.cn", password) is user


def test_admin_cannot_create_a_county_member_without_county(client, login):
    login("admin")
    response = client.post(
        "/admin/users/new",
        data={"email": "t@example.cn", "display_name": "团队", "role": "county_member", "region_id": 0},
    )
    assert response.status_code == 400
    assert "必须绑定" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(User.email == "t@example.cn")) == 0


def test_admin_binds_a_member_to_another_county(client, login):
    login("admin")
    member = make_user(role="county_member", region_code="330402")
    db.session.commit()
    response = client.post(
        f"/admin/users/{member.id}/role", data={"role": "county_member", "region_id": region("330483").id}
    )
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.region.code == "330483"


def test_changing_a_member_to_judge_drops_the_county(client, login):
    login("admin")
    member = make_user(role="county_member")
    db.session.commit()
    client.post(f"/admin/users/{member.id}/role", data={"role": "judge", "region_id": 0})
    db.session.refresh(member)
    assert (member.role, member.region_id) == ("judge", None)


def test_admin_deactivates_an_account_which_then_loses_its_session(client, login, app):
    login("admin")
    dev = make_user(role="developer")
    db.session.commit()
    assert client.post(f"/admin/users/{dev.id}/active", data={"active": "0"}).status_code == 302
    db.session.refresh(dev)
    assert dev.active is False
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = str(dev.id)
    assert other.get("/account/").status_code == 302


def test_admin_cannot_deactivate_themself(client, login):
    admin = login("admin")
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active is True


def test_user_list_filters_and_pages(client, login):
    login("admin")
    for _ in range(55):
        make_user(role="developer")
    make_user(role="judge", email="judge-x@example.cn")
    db.session.commit()
    page1 = client.get("/admin/users?role=developer").get_data(as_text=True)
    assert "第 1 页，共 2 页" in page1
    judges = client.get("/admin/users?q=judge-x").get_data(as_text=True)
    assert (
        "judge-x@example.cn" in judges
        and "user" not in judges.split("<tbody>")[1].split("@example.cn")[0][-10:]
    )
    empty = client.get("/admin/users?q=nobody-here").get_data(as_text=True)
    assert "没有符合条件的账号" in empty


def test_admin_adds_and_corrects_a_population_figure(client, login):
    login("admin")
    data = {"region_id": region("330402").id, "year": 2022, "population": 880_000, "source": "2022年统计公报"}
    assert client.post("/admin/regions", data=data).status_code == 302
    data["population"] = 881_234
    assert client.post("/admin/regions", data=data).status_code == 302
    figures = db.session.scalars(select(Population).where(Population.year == 2022)).all()
    assert [(f.region.name, f.population) for f in figures] == [("南湖区", 881_234)]
    assert "881,234" in client.get("/admin/regions").get_data(as_text=True)


def test_population_form_rejects_bad_figures(client, login):
    login("admin")
    for bad in ({"population": -5}, {"population": "很多"}, {"year": 1800}, {"source": ""}):
        data = {"region_id": region("330402").id, "year": 2022, "population": 1000, "source": "公报", **bad}
        assert client.post("/admin/regions", data=data).status_code == 400
    assert db.session.scalar(select(func.count()).where(Population.year == 2022)) == 0
