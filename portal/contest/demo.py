"""The demo contest, made through the same domain functions that teams, judges and the office use.

A contest of the current year with two tracks; its first round (初赛) lies in the past: entries by the demo
county teams, scored by the three demo judges, a flag and an appeal decided, published and final. Its second
round (复赛) is open for submissions, with one entry from an advancing team. Idempotent: once the contest
exists nothing is added. Needs the demo accounts and the demo catalogue; adds and flushes, the caller commits.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal import clock
from portal.accounts.models import User
from portal.catalogue import rules
from portal.catalogue.models import Dataset
from portal.contest import appeals, entries, flags, panels, results, scoring, setup, teams
from portal.contest.models import TRIMMED_MEAN, Assignment, Contest, Round, Track
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions.models import Region
from portal.seeding import DEMO_DOMAIN

CONTEST_NAME = "嘉兴市数据开放创新应用大赛"
DESCRIPTION = (
    "围绕交通出行、医疗卫生、教育培训、社区服务等重点领域，鼓励各县（市、区）团队和社会开发者"
    "利用嘉兴公共数据开放平台上的数据集，开发创新应用。"
)
RULES = (
    "一、每支团队在每个赛道每个赛段限提交一件作品，须使用至少一个平台开放数据集。\n"
    "二、评委与参赛团队同属一个县（市、区）的，一律回避。\n"
    "三、评审结果公示期内，参赛团队可对本团队成绩提出申诉。"
)
TRACKS = [
    ("智慧交通", "交通出行、停车与公共交通数据的创新应用", ("交通", "公交", "停车", "充电")),
    ("民生服务", "医疗、教育、养老等民生数据的创新应用", ("医", "学校", "养老", "社区")),
]
RUBRIC = [
    setup.CriterionSpec("创新性", 30, 10, "思路新颖，切中真实需求", 2),
    setup.CriterionSpec("数据应用", 30, 10, "开放数据使用的深度与广度", 1),
    setup.CriterionSpec("实用价值", 25, 10, "社会与经济价值，可推广"),
    setup.CriterionSpec("完成度", 15, 10, "功能完整，可以演示"),
]
ENTRIES = [  # county code, track, title, quality (the judges' scores scatter around it)
    ("330402", 0, "南湖停车一张图", 8.5),
    ("330411", 0, "秀洲公交到站精准预报", 7.5),
    ("330424", 0, "海盐充电桩空闲地图", 6.5),
    ("330482", 0, "平湖通勤出行碳账本", 7.0),
    ("330402", 1, "南湖社区养老服务地图", 7.0),
    ("330421", 1, "嘉善学区查询助手", 8.0),
    ("330481", 1, "海宁发热门诊排队指引", 8.5),
    ("330483", 1, "桐乡家庭医生签约助手", 6.0),
]
JUDGE_COUNTIES = {"judge1": "330402", "judge2": "330411", "judge3": None}  # judge3 belongs to no county
JUDGE_BIAS = {"judge1": 1.0, "judge2": -1.0, "judge3": 0.0}  # a lenient and a harsh judge


class DemoError(Exception):
    """The demo contest needs what is missing (the demo accounts or catalogue)."""


def seed_demo_contest() -> None:
    """Create the demo contest unless this year's already exists."""
    now = utcnow()
    year = clock.to_local(now).year
    if db.session.scalar(select(Contest.id).where(Contest.year == year, Contest.name == CONTEST_NAME)):
        return
    admin = _account("admin")
    contest = setup.create_contest(
        year=year, name=CONTEST_NAME, description=DESCRIPTION, rules=RULES, by=admin
    )
    tracks = [setup.add_track(contest, name=name, description=text) for name, text, _ in TRACKS]
    first = _first_round(contest, tracks, now)
    setup.publish_contest(contest, by=admin, now=now)  # public, as the office would have it
    _judge_first_round(first, admin)
    _settle_first_round(first, admin)
    _open_second_round(contest, tracks, now)
    db.session.flush()


def _first_round(contest: Contest, tracks: list[Track], now: datetime) -> Round:
    day = timedelta(days=1)
    rules = setup.RoundRules(
        name="初赛",
        submission_opens_at=now - 60 * day,
        submission_closes_at=now - 30 * day,
        judging_opens_at=now - 28 * day,
        judging_closes_at=now - 16 * day,
        judges_per_entry=2,
        advance_count=2,
        aggregation=TRIMMED_MEAN,
        normalise=True,
        blind=True,
        notice_days=7,
    )
    first = setup.save_round(contest, rules)
    setup.set_rubric(first, RUBRIC)
    for login, code in JUDGE_COUNTIES.items():
        panels.set_county(_account(login), _region(code) if code else None)
    for track in tracks:
        for login in JUDGE_COUNTIES:
            panels.add_judge(first, track, _account(login))
    for n, (code, track_index, title, _) in enumerate(ENTRIES):
        team = _county_team(contest, code)
        draft = entries.EntryDraft(
            title=title,
            abstract=f"{title}：基于嘉兴公共数据开放平台的数据，为市民提供便捷、可靠的服务。",
            demo_url=f"https://demo.{DEMO_DOMAIN}/{code}/{track_index + 1}",
            dataset_ids=_datasets(TRACKS[track_index][2]),
        )
        entries.submit_entry(
            team, first, tracks[track_index], draft, by=team.captain, now=first.submission_opens_at + n * day
        )
    return first


def _judge_first_round(first: Round, admin: User) -> None:
    panels.assign_round(first, by=admin, now=first.judging_opens_at)
    quality = {title: q for _, _, title, q in ENTRIES}
    rng = random.Random(first.contest.year)
    assigned = db.session.scalars(
        select(Assignment).where(Assignment.round_id == first.id).order_by(Assignment.id)
    )
    for n, assignment in enumerate(assigned.all()):
        login = assignment.judge.email.split("@")[0]
        base = quality[assignment.entry.title] + JUDGE_BIAS[login]
        marks = {c.id: scoring.Mark(_half_point(base + rng.uniform(-1, 1))) for c in first.criteria}
        when = first.judging_opens_at + timedelta(days=1, hours=n)
        scoring.save_scores(assignment, marks, by=assignment.judge, now=when, submit=True)
        if n == 0:
            flags.flag_entry(assignment, reason="演示视频片头出现了单位简称。", by=assignment.judge, now=when)


def _settle_first_round(first: Round, admin: User) -> None:
    [flag] = flags.flags_of(first)
    flags.decide_flag(
        flag, disqualify=False, reason="简称不足以识别团队，继续参评。", by=admin, now=first.judging_closes_at
    )
    published = first.judging_closes_at + timedelta(days=1)
    results.publish(first, by=admin, now=published)
    computed = results.compute(first)
    last = computed.tracks[-1][1][-1].entry
    appeal = appeals.file_appeal(
        last, reason="请复核“完成度”一项的评分。", by=last.team.captain, now=published + timedelta(days=2)
    )
    appeals.answer_appeal(
        appeal,
        upheld=False,
        reason="经复核，评分符合评分细则，维持原成绩。",
        by=admin,
        now=published + timedelta(days=4),
    )
    results.finalise(first, by=admin, now=published + timedelta(days=first.notice_days, hours=1))


def _open_second_round(contest: Contest, tracks: list[Track], now: datetime) -> None:
    day = timedelta(days=1)
    rules = setup.RoundRules(
        name="复赛",
        submission_opens_at=now - 5 * day,
        submission_closes_at=now + 25 * day,
        judging_opens_at=now + 27 * day,
        judging_closes_at=now + 40 * day,
        judges_per_entry=3,
        advance_count=1,
        notice_days=7,
    )
    second = setup.save_round(contest, rules)
    setup.set_rubric(second, RUBRIC)
    first = contest.rounds[0]
    winner = results.compute(first).tracks[0][1][0].entry
    draft = entries.EntryDraft(
        title=f"{winner.title}（复赛版）",
        abstract=f"{winner.abstract}复赛版本接入了更多实时数据。",
        demo_url=winner.demo_url,
        dataset_ids=[d.id for d in winner.datasets],
    )
    entries.submit_entry(winner.team, second, winner.track, draft, by=winner.team.captain, now=now - day)


def _county_team(contest: Contest, code: str):
    region = _region(code)
    existing = next((t for t in teams.teams_of(_account(f"team-{code}")) if t.contest_id == contest.id), None)
    if existing is not None:
        return existing
    return teams.form_team(
        contest,
        name=f"{region.name}数据创新队",
        captain=_account(f"team-{code}"),
        member_emails=[],
        region=region,
    )


def _account(login: str) -> User:
    user = db.session.scalar(select(User).where(User.email == f"{login}@{DEMO_DOMAIN}"))
    if user is None:
        raise DemoError(f"the demo account {login}@{DEMO_DOMAIN} is missing: create the demo accounts first")
    return user


def _region(code: str) -> Region:
    return db.session.scalar(select(Region).where(Region.code == code))


def _datasets(keywords: tuple[str, ...]) -> list[int]:
    published = select(Dataset.id).where(rules.published()).order_by(Dataset.id)
    for keyword in keywords:
        found = db.session.scalars(published.where(Dataset.title.contains(keyword)).limit(2)).all()
        if found:
            return list(found)
    found = db.session.scalars(published.limit(2)).all()
    if not found:
        raise DemoError("the demo contest needs published datasets: load the demo catalogue first")
    return list(found)


def _half_point(value: float) -> Decimal:
    return Decimal(round(min(10.0, max(0.0, value)) * 2)) / 2
