"""Demo applications: every county across the current year's quarters, in every state, made the way teams
and the office make them (registration and workflow functions), with generated screenshots.

It adds and flushes; `init --demo` commits.
"""

from __future__ import annotations

import io
import random
import zlib
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import ADMIN, User
from portal.applications import registration, uploads, workflow
from portal.applications.models import Application
from portal.catalogue import rules
from portal.catalogue.models import Dataset
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.regions import population
from portal.regions.models import Region
from portal.seeding import DEMO_DOMAIN
from portal.storage import Storage, get_storage

# domain, name (after the county's name), what it does
IDEAS = [
    ("jtcx", "智慧停车导航", "汇聚公共停车场泊位与收费数据，实时引导市民就近停车。"),
    ("ylws", "家庭医生签约助手", "基于医疗机构与家庭医生团队数据，帮助居民就近签约、预约随访。"),
    ("jypx", "学区与招生一点通", "整合学校名录、学区划分和招生计划，家长一站查询。"),
    ("whly", "文旅打卡地图", "把景区、文化场馆和开放时间做成地图，游客按路线打卡。"),
    ("sqfw", "社区养老服务地图", "标注养老服务中心、助餐点和服务项目，子女远程代约。"),
    ("shxy", "信用修复指引", "根据公开的行政处罚与信用信息，指导企业办理信用修复。"),
    ("phjr", "小微企业融资服务", "用企业登记与纳税信用数据，为小微企业匹配普惠信贷产品。"),
    ("yshj", "企业开办一件事", "按经营范围列出所需证照与办理地点，缩短企业开办时间。"),
    ("sthj", "河道水质公示牌", "把断面水质监测数据做成河长公示牌，群众扫码查看与监督。"),
    ("shzl", "网格治理随手拍", "居民随手拍上报问题，结合网格与部门数据派单处置。"),
]
# One county each: met, awaiting review, still a draft, returned, nothing yet …
CURRENT_QUARTER = ["approved", "submitted", "draft", "returned", None, "approved", "submitted"]
COLOURS = ["#0b5cad", "#1b7f3b", "#a15c00", "#6a3fb5", "#b3261e", "#0f7c8c", "#5b6776"]


def seed_demo_applications(store: Storage | None = None, *, now: datetime | None = None) -> int:
    """Create the demo applications unless some exist; return how many were made.

    Needs the demo team accounts (team-<code>@demo…), an admin and published datasets; without them it
    makes nothing. In the current quarter some counties are still missing, so the board has gaps.
    """
    if db.session.scalar(select(func.count()).select_from(Application)):
        return 0
    store, now = store or get_storage(), now or utcnow()
    office = db.session.scalar(
        select(User).where(User.role == ADMIN, User.active.is_(True)).order_by(User.id)
    )
    datasets = list(
        db.session.scalars(select(Dataset).where(rules.published()).order_by(Dataset.id))
    )
    if office is None or not datasets:
        return 0
    current = clock.quarter_of(now)
    year_quarters = [q for q in clock.quarters_of(clock.year_of_quarter(current)) if q <= current]
    made = 0
    for i, county in enumerate(population.counties()):
        member = db.session.scalar(select(User).where(User.email == f"team-{county.code}@{DEMO_DOMAIN}"))
        if member is None or not member.active:
            continue
        for j, quarter in enumerate(year_quarters):
            for k, state in enumerate(_states(i, j, is_current=quarter == current)):
                idea = IDEAS[(i * 3 + j * 2 + k) % len(IDEAS)]
                moment = min(clock.middle_of(quarter) + timedelta(days=k), now)
                _make(
                    county,
                    member,
                    office,
                    idea,
                    _pick(datasets, idea[0], i + j),
                    quarter,
                    state,
                    moment,
                    store,
                )
                made += 1
    return made


def _states(county: int, quarter: int, *, is_current: bool) -> list[str]:
    """Return the states of one county's applications in one quarter, varied but fixed."""
    if is_current:
        state = CURRENT_QUARTER[county % len(CURRENT_QUARTER)]
        return [state] if state else []
    pattern = (county + quarter) % 5
    if pattern == 3:
        return ["returned"]  # a quarter whose quota was not met
    states = ["approved", "submitted"] if pattern == 1 else ["approved"]
    if county % 3 == 0 and quarter == 0:
        states[0] = "exemplary"
    return states


def _pick(datasets: list[Dataset], domain: str, n: int) -> list[Dataset]:
    themed = [d for d in datasets if any(t.name == domain for t in d.themes)] or datasets
    return [themed[n % len(themed)], themed[(n + 1) % len(themed)]] if len(themed) > 1 else themed[:1]


def _make(
    county: Region,
    member: User,
    office: User,
    idea: tuple[str, str, str],
    datasets: list[Dataset],
    quarter: str,
    state: str,
    moment: datetime,
    store: Storage,
) -> Application:
    domain, name, description = idea
    details = registration.Details(
        name=f"{county.name}{name}",
        quarter=quarter,
        domain=domain,
        description=description,
        dataset_ids=[d.id for d in datasets],
        web_url=f"https://apps.example.cn/{county.code}/{domain}",
        zlb_entry=f"浙里办·{county.name}{name}",
    )
    application, _ = registration.register(
        county,
        details,
        registration.Attachments(screenshots=[] if state == "draft" else _screenshots(details.name)),
        by=member,
        token="",
        store=store,
        limits=uploads.Limits(),
        submit=state != "draft",
        now=moment,
    )
    if state in ("approved", "exemplary"):
        workflow.approve(application, by=office, now=moment)
    if state == "exemplary":
        workflow.mark_exemplary(application, by=office, now=moment)
    if state == "returned":
        workflow.send_back(
            application, by=office, reason="请补充应用截图中的数据来源说明，并注明数据更新频率。", now=moment
        )
    return application


def _screenshots(name: str) -> list[uploads.IncomingFile]:
    return [
        uploads.IncomingFile(f"screen-{n + 1}.png", _screenshot(zlib.crc32(f"{name}{n}".encode())))
        for n in range(2)
    ]


def _screenshot(seed: int) -> io.BytesIO:
    """Draw a phone-sized mock screen: a coloured bar, a map with a route and markers, list rows."""
    rng = random.Random(seed)
    colour = COLOURS[seed % len(COLOURS)]
    image = Image.new("RGB", (360, 640), "#f5f7fa")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 360, 64), fill=colour)
    draw.rounded_rectangle((16, 84, 344, 284), radius=12, fill="#dfe9f5")
    points = [(rng.randint(40, 320), rng.randint(104, 264)) for _ in range(6)]
    draw.line(points, fill="#9fb6cf", width=4)
    for x, y in points:
        draw.ellipse((x - 7, y - 7, x + 7, y + 7), fill=colour)
    for row in range(5):
        top = 304 + row * 64
        draw.rounded_rectangle((16, top, 344, top + 52), radius=8, fill="#ffffff", outline="#dde3ea")
        draw.rectangle((28, top + 14, 28 + rng.randint(90, 270), top + 24), fill="#b7c1cc")
        draw.rectangle((28, top + 32, 28 + rng.randint(40, 140), top + 38), fill="#dde3ea")
    out = io.BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return out
