"""Plain `make_*` factories: keyword defaults, add, flush, return."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from portal.accounts.models import COUNTY_MEMBER, User
from portal.extensions import db
from portal.regions.models import Region

PASSWORD = "测试Password-2026"
_HASH = generate_password_hash(PASSWORD)  # hashed once: hashing is slow on purpose
_seq = itertools.count(1)


def region(code: str = "330402") -> Region:
    return db.session.scalar(select(Region).where(Region.code == code))


def make_user(
    role: str = "developer",
    *,
    email: str | None = None,
    region_code: str = "330402",
    display_name: str = "测试用户",
    active: bool = True,
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.cn",
        display_name=f"{display_name}{n}",
        password_hash=_HASH,
        role=role,
        region=region(region_code) if role == COUNTY_MEMBER else None,
        active=active,
    )
    db.session.add(user)
    db.session.flush()
    return user
