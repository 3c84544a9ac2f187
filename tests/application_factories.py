"""Factories and file makers for the applications tests: keyword defaults, add, flush, return."""

from __future__ import annotations

import io
import itertools
import os
from datetime import UTC, datetime

from catalogue_factories import make_dataset
from factories import make_user, region
from PIL import Image

from portal.accounts.models import ADMIN, COUNTY_MEMBER, User
from portal.applications import registration, uploads, workflow
from portal.applications.models import Application
from portal.catalogue.models import Dataset
from portal.extensions import db
from portal.storage import get_storage

_seq = itertools.count(1)


def png(width: int = 64, height: int = 48, color: str = "red", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()


def noise_png(width: int = 1500, height: int = 1200) -> bytes:
    """A PNG that does not compress: larger than 5 MB at the default size."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def incoming(data: bytes, filename: str = "截图.png") -> uploads.IncomingFile:
    return uploads.IncomingFile(filename, io.BytesIO(data))


def details(datasets: list[Dataset] = (), **overrides) -> registration.Details:
    values = {
        "name": "智慧停车导航",
        "quarter": "2020Q2",
        "domain": "jtcx",
        "description": "帮助市民找到空闲停车位。",
        "dataset_ids": [d.id for d in datasets],
        "web_url": "https://park.example.cn/",
        "mini_program": "",
        "zlb_entry": "",
    }
    values.update(overrides)
    return registration.Details(**values)


def team_member(code: str = "330402") -> User:
    return make_user(role=COUNTY_MEMBER, region_code=code)


def admin() -> User:
    return make_user(role=ADMIN)


def make_application(
    *,
    code: str = "330402",
    by: User | None = None,
    datasets: list[Dataset] | None = None,
    status: str = "draft",
    exemplary: bool = False,
    quarter: str = "2020Q2",
    reviewer: User | None = None,
    screenshots: list[bytes] = (),
    now: datetime | None = None,
    grace_days: int | None = None,
    **fields,
) -> Application:
    """Register an application through the domain functions and take it to `status`."""
    by = by or team_member(code)
    datasets = datasets if datasets is not None else [make_dataset()]
    now = now or datetime(2020, 5, 15, 4, 0, tzinfo=UTC)
    application, _ = registration.register(
        region(code),
        details(datasets, quarter=quarter, **fields),
        registration.Attachments(screenshots=[incoming(s, f"图{i}.png") for i, s in enumerate(screenshots)]),
        by=by,
        token="",
        store=get_storage(),
        limits=uploads.Limits(),
        submit=status != "draft",
        now=now,
        grace_days=grace_days,
    )
    if status in ("approved", "returned"):
        reviewer = reviewer or admin()
        if status == "approved":
            workflow.approve(application, by=reviewer, now=now)
        else:
            workflow.send_back(application, by=reviewer, reason="请补充截图。", now=now)
    if exemplary:
        workflow.mark_exemplary(application, by=reviewer or admin(), now=now)
    db.session.flush()
    return application


def stored_files(app) -> list[str]:
    """Every object under the local storage folder, as keys."""
    root = os.path.join(app.instance_path, "storage")
    found = []
    for folder, _dirs, files in os.walk(root):
        found += [os.path.relpath(os.path.join(folder, f), root) for f in files]
    return sorted(found)
