from __future__ import annotations

from sqlalchemy import func, select

from portal import seeding
from portal.accounts.models import COUNTY_MEMBER, JUDGE, User
from portal.extensions import db
from portal.regions.models import Population, Region


def test_seeds_hold_the_city_and_its_seven_counties_with_2021_population(app):
    regions = {r.name: r for r in db.session.scalars(select(Region))}
    assert len(regions) == 8
    assert regions["嘉兴市"].is_city
    assert regions["海宁市"].population_in(2021).population == 1_099_400
    assert regions["海盐县"].code == "330424"
    assert "统计公报" in regions["南湖区"].population_in(2021).source
    assert sum(r.population_in(2021).population for r in regions.values() if not r.is_city) == 5_515_900


def test_loading_seeds_twice_adds_nothing_and_keeps_corrections(app):
    nanhu = db.session.scalar(select(Region).where(Region.code == "330402"))
    nanhu.population_in(2021).population = 870_000  # an admin's correction
    db.session.commit()
    assert seeding.load_regions() == 0
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Region)) == 8
    assert db.session.scalar(select(func.count()).select_from(Population)) == 8
    assert nanhu.population_in(2021).population == 870_000


def test_demo_accounts_get_random_passwords_once(app):
    first = seeding.create_demo_accounts()
    db.session.commit()
    second = seeding.create_demo_accounts()
    db.session.commit()
    passwords = [a.password for a in first]
    assert all(passwords) and len(set(passwords)) == len(passwords)
    assert all(a.password is None for a in second)
    assert db.session.scalar(select(func.count()).where(User.role == COUNTY_MEMBER)) == 7
    assert db.session.scalar(select(func.count()).where(User.role == JUDGE)) == 3


def test_init_command_migrates_seeds_and_is_safe_to_rerun(runner):
    first = runner.invoke(args=["init", "--demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.jiaxing.example" in first.output
    second = runner.invoke(args=["init", "--demo"])
    assert second.exit_code == 0, second.output
    assert "0 new region(s)" in second.output
    assert "password unchanged" in second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 14  # and two data owners


def test_create_admin_command_refuses_a_weak_password(runner):
    result = runner.invoke(
        args=["create-admin", "--email", "boss@jx.cn", "--name", "主任", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "至少需要 10 个字符" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    named = runner.invoke(
        args=["create-admin", "--email", "boss@jx.cn", "--name", "主任", "--password", "Jiaxing-2026x"]
    )
    assert named.exit_code != 0 and "本站名称" in named.output
    ok = runner.invoke(
        args=["create-admin", "--email", "Boss@JX.cn", "--name", "主任", "--password", "Nanhu-hongchuan-1921"]
    )
    assert ok.exit_code == 0, ok.output
    assert db.session.scalar(select(User.role).where(User.email == "boss@jx.cn")) == "admin"
