"""A small city whose every statistic is computed by hand, and the helpers that build it.

Year 2025, the rollup run at NOW (2025-11-20 12:00 in Shanghai, in 2025Q4). Population 2025: the
city 10,000, 南湖区 1,000, 秀洲区 2,000, no figure for the other counties; no figure at all for 2024
or earlier (the seeded 2021 figures are removed, so every figure is the one written here).

Catalogue (published, active resources; records × fields):
  南湖区  d1: 100×5 + 10×3 + a PDF (unmeasured) = 530;  d2: unmeasured;  d3: withdrawn (not counted)
  秀洲区  d4: 200×4, its duplicate file (not counted twice) and a removed resource = 800
  city    d5: 1000×2 = 2000
  嘉善县  nothing
Activity (Shanghai days): 2025-02-28 one anonymous download of d1 (at 23:59:59, a second before
March); 2025-03-01 an anonymous page view at 00:00:00, downloads of d1 and d4 by two visitors, a
bot's download, 南湖 member A views d5, developer D's scripted API call on d1 (counted: token), an
anonymous bot API call (left out); 2025-03-02 A signs in, 秀洲 member B downloads d4, D calls the API
on no dataset; 2025-04-01 A views a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from catalogue_factories import make_dataset, make_department
from factories import make_user, region
from sqlalchemy import delete, insert

from portal.activity.models import ActivityEvent
from portal.applications.models import Application
from portal.contest.models import Contest, Entry, Round, Team, Track
from portal.extensions import db
from portal.metrics import rollup
from portal.regions.models import Population

NOW = datetime(2025, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
FIRST_DAY, LAST_DAY = date(2025, 2, 28), date(2025, 11, 20)
ROLLED_DAYS = (LAST_DAY - FIRST_DAY).days + 1
ROLLED_MONTHS = 10  # February to November


@dataclass
class City:
    member_a: object
    member_b: object
    developer: object
    d1: object
    d4: object
    d5: object


def event(kind: str, at: datetime, *, user=None, visitor: str | None = None, dataset=None, bot: bool = False):
    """Insert one raw event as `events.record` would have written it."""
    db.session.execute(
        insert(ActivityEvent.__table__).values(
            occurred_at=at,
            kind=kind,
            user_id=user.id if user else None,
            region_id=user.region_id if user else None,
            visitor_hash=None if user else (visitor or "v0") * 16,
            dataset_id=dataset.id if dataset else None,
            path="/",
            ip_hash="ip",
            is_bot=bot,
        )
    )


def shanghai(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """Return an aware UTC moment given in Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=8)


def set_population(code: str, year: int, population: int) -> None:
    db.session.add(Population(region=region(code), year=year, population=population, source="测试统计公报"))
    db.session.flush()


def build_city() -> City:
    """Make the city described above and roll it up at NOW; return its actors and datasets."""
    db.session.execute(delete(Population))
    for code, population in (("330400", 10_000), ("330402", 1_000), ("330411", 2_000)):
        set_population(code, 2025, population)
    nanhu, xiuzhou = make_department(region_code="330402"), make_department(region_code="330411")
    city_dept = make_department(region_code="330400", title="嘉兴市交通运输局")
    d1 = make_dataset(
        department=nanhu,
        resources=[
            {"records": 100, "fields": 5},
            {"records": 10, "fields": 3, "format": "XLSX"},
            {"format": "PDF"},
        ],
    )
    make_dataset(department=nanhu, resources=[{"format": "CSV"}])
    make_dataset(department=nanhu, state="withdrawn", resources=[{"records": 1000, "fields": 10}])
    d4 = make_dataset(
        department=xiuzhou,
        resources=[
            {"records": 200, "fields": 4},
            {"records": 200, "fields": 4, "invalid_reason": "duplicate"},
            {"records": 50, "fields": 2, "state": "removed"},
        ],
    )
    d5 = make_dataset(department=city_dept, resources=[{"records": 1000, "fields": 2}])
    member_a = make_user("county_member", region_code="330402")
    member_b = make_user("county_member", region_code="330411")
    developer = make_user("developer")
    developer.created_at = datetime(2025, 1, 5, tzinfo=UTC)
    city = City(member_a, member_b, developer, d1, d4, d5)
    _activity(city)
    _applications()
    _contest(member_a)
    rollup.roll_up(now=NOW)
    db.session.commit()
    return city


def _activity(c: City) -> None:
    event("download", shanghai(2025, 2, 28, 23, 59, 59), visitor="v1", dataset=c.d1)
    event("page_view", shanghai(2025, 3, 1, 0, 0, 0), visitor="v1")
    event("download", shanghai(2025, 3, 1, 10), visitor="v1", dataset=c.d1)
    event("download", shanghai(2025, 3, 1, 11), visitor="v2", dataset=c.d4)
    event("download", shanghai(2025, 3, 1, 11), visitor="v3", dataset=c.d1, bot=True)
    event("dataset_view", shanghai(2025, 3, 1, 12), user=c.member_a, dataset=c.d5)
    event("api_call", shanghai(2025, 3, 1, 13), user=c.developer, dataset=c.d1, bot=True)
    event("api_call", shanghai(2025, 3, 1, 14), visitor="v4", dataset=c.d1, bot=True)
    event("sign_in", shanghai(2025, 3, 2, 9), user=c.member_a)
    event("download", shanghai(2025, 3, 2, 10), user=c.member_b, dataset=c.d4)
    event("api_call", shanghai(2025, 3, 2, 11), user=c.developer)
    event("page_view", shanghai(2025, 4, 1, 9), user=c.member_a)


def make_application(code: str, quarter: str, status: str = "approved", *, exemplary: bool = False):
    application = Application(
        region_id=region(code).id,
        quarter=quarter,
        name="智慧停车导航",
        domain="jtcx",
        status=status,
        is_exemplary=exemplary,
    )
    db.session.add(application)
    db.session.flush()
    return application


def _applications() -> None:
    """南湖区: approved in Q1, Q2 and Q4 (exemplary), one submitted in Q2; 秀洲区: one returned in Q1."""
    make_application("330402", "2025Q1")
    make_application("330402", "2025Q2")
    make_application("330402", "2025Q2", "submitted")
    make_application("330402", "2025Q4", exemplary=True)
    make_application("330411", "2025Q1", "returned")
    make_application("330402", "2024Q4")  # another year


def _contest(captain) -> None:
    """南湖区's team enters track X in two rounds and track Y once (two works); a team with no county, one."""
    published = datetime(2025, 4, 1, tzinfo=UTC)
    contest = Contest(year=2025, name="2025年数据开放创新应用大赛", published_at=published)
    x, y = Track(contest=contest, name="智慧交通"), Track(contest=contest, name="民生服务")
    first, second = (
        Round(
            contest=contest,
            name=name,
            position=n,
            submission_opens_at=datetime(2025, 5 + 2 * n, 1, tzinfo=UTC),
            submission_closes_at=datetime(2025, 5 + 2 * n, 20, tzinfo=UTC),
            judging_opens_at=datetime(2025, 5 + 2 * n, 21, tzinfo=UTC),
            judging_closes_at=datetime(2025, 6 + 2 * n, 10, tzinfo=UTC),
        )
        for n, name in enumerate(("初赛", "复赛"))
    )
    nanhu = Team(contest=contest, name="南湖队", captain_id=captain.id, region_id=region("330402").id)
    free = Team(contest=contest, name="自由队", captain_id=captain.id, region_id=None)
    db.session.add_all([contest, x, y, first, second, nanhu, free])
    db.session.flush()
    for round_, track, team in ((first, x, nanhu), (second, x, nanhu), (first, y, nanhu), (first, x, free)):
        db.session.add(Entry(round=round_, track=track, team=team, title="公交到站预报", abstract="摘要"))
    db.session.flush()
