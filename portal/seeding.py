"""Loading reference data from `seeds/` and making the demo accounts, idempotently."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from portal.accounts import actions
from portal.accounts.models import ADMIN, COUNTY_MEMBER, DEVELOPER, JUDGE, User
from portal.extensions import db
from portal.regions.models import Population, Region

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DEMO_DOMAIN = "demo.jiaxing.example"
DEMO_CATALOGUE = SEEDS / "catalogue" / "demo-catalogue.jsonl"


@dataclass
class DemoAccount:
    email: str
    role: str
    password: str | None  # None when the account already existed


def load_regions(path: Path = SEEDS / "regions.json") -> int:
    """Insert the city and its counties and their seeded population; return how many were new.

    Existing regions keep their names and any population figure an admin corrected.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    added = 0
    for position, item in enumerate(data["regions"]):
        region = db.session.scalar(select(Region).where(Region.code == item["code"]))
        if region is None:
            region = Region(
                code=item["code"],
                name=item["name"],
                name_en=item["name_en"],
                level=item["level"],
                position=position,
            )
            db.session.add(region)
            added += 1
        db.session.flush()
        if region.population_in(data["year"]) is None:
            db.session.add(
                Population(
                    region=region, year=data["year"], population=item["population"], source=data["source"]
                )
            )
    db.session.flush()
    return added


def create_demo_accounts() -> list[DemoAccount]:
    """Make the demo admin, one team member per county, three judges and a developer.

    Each new account gets a random password, returned once; existing ones are left alone.
    """
    wanted: list[tuple[str, str, str, Region | None]] = [
        (f"admin@{DEMO_DOMAIN}", "市数据局管理员", ADMIN, None)
    ]
    for region in db.session.scalars(select(Region).where(Region.level == "county").order_by(Region.code)):
        wanted.append((f"team-{region.code}@{DEMO_DOMAIN}", f"{region.name}团队", COUNTY_MEMBER, region))
    for n, name in enumerate(("张评委", "李评委", "王评委"), start=1):
        wanted.append((f"judge{n}@{DEMO_DOMAIN}", name, JUDGE, None))
    wanted.append((f"developer@{DEMO_DOMAIN}", "开发者小陈", DEVELOPER, None))

    accounts = []
    for email, name, role, region in wanted:
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            accounts.append(DemoAccount(email, role, None))
            continue
        password = actions.generate_password(email=email, name=name)
        actions.create_user(email=email, password=password, display_name=name, role=role, region=region)
        accounts.append(DemoAccount(email, role, password))
    return accounts
