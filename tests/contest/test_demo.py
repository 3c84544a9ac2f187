"""The demo contest is made through the domain functions, once."""

from __future__ import annotations

import pytest
from catalogue_factories import make_dataset
from sqlalchemy import func, select

from portal import seeding
from portal.contest import demo, results, windows
from portal.contest.models import Assignment, Contest, Score
from portal.dbtypes import utcnow
from portal.extensions import db


@pytest.fixture
def demo_contest(app):
    seeding.create_demo_accounts()
    for title in ("嘉兴市公交站点", "停车场泊位", "中小学校名录", "养老机构"):
        make_dataset(title)
    demo.seed_demo_contest()
    db.session.commit()
    return db.session.scalar(select(Contest))


def test_the_demo_contest_has_a_final_first_round_and_an_open_second_one(demo_contest):
    first, second = demo_contest.rounds
    assert [t.name for t in demo_contest.tracks] == ["智慧交通", "民生服务"]
    assert first.is_final and windows.phase(second, utcnow()) == "submission"
    computed = results.compute(first)
    assert sum(len(rows) for _, rows in computed.tracks) == len(demo.ENTRIES)
    assert all(row.result.rank is not None for _, rows in computed.tracks for row in rows)
    statuses = db.session.scalars(select(Assignment.status).where(Assignment.round_id == first.id)).all()
    assert statuses and set(statuses) == {"submitted"}
    assert db.session.scalar(select(func.count()).select_from(Score)) == len(statuses) * len(first.criteria)


def test_the_demo_respects_recusal(demo_contest):
    first = demo_contest.rounds[0]
    for assignment in db.session.scalars(select(Assignment).where(Assignment.round_id == first.id)):
        login = assignment.judge.email.split("@")[0]
        assert demo.JUDGE_COUNTIES[login] != assignment.entry.team.region.code


def test_seeding_the_demo_contest_again_adds_nothing(demo_contest):
    demo.seed_demo_contest()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Contest)) == 1


def test_the_demo_pages_open(client, demo_contest):
    first = demo_contest.rounds[0]
    assert client.get("/contest/").status_code == 200
    assert client.get(f"/contest/{demo_contest.id}").status_code == 200
    assert client.get(f"/contest/{demo_contest.id}/rounds/{first.id}/ranking").status_code == 200
    body = client.get(f"/api/v1/contests/{demo_contest.id}/rounds/{first.id}/results").get_json()
    assert len(body["tracks"]) == 2


def test_the_demo_needs_the_catalogue(app):
    seeding.create_demo_accounts()
    with pytest.raises(demo.DemoError, match="catalogue"):
        demo.seed_demo_contest()
