"""A fake CKAN's content for the sync tests, and the calls that sync from it.

`fake_ckan()` holds ORGS, GROUPS and a few `package(n)`s; `sync(url)` runs the real sync against a served
CKAN with the app's configured fetcher.
"""

from __future__ import annotations

from ckanserver import FakeCkan
from factories import make_user
from sqlalchemy import select

from portal.accounts.models import ADMIN
from portal.catalogue.models import Dataset
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.sync import commands, remote, run, screen
from portal.sync.models import SyncRun

ORGS = [
    {
        "id": "org-hn",
        "name": "haining-jtj",
        "title": "海宁市交通运输局",
        "extras": [{"key": "region_code", "value": "330481"}],
    },
    {"id": "org-tx", "name": "tongxiang-wjj", "title": "桐乡市卫生健康局"},  # county from its title
    {"id": "org-jx", "name": "jx-xinban", "title": "嘉兴市某新设办公室"},
]
GROUPS = [
    {"id": "g-jtcx", "name": "jtcx", "title": "交通出行"},
    {"id": "g-ylws", "name": "ylws", "title": "医疗卫生"},
]


def package(n: int, *, org: str = "haining-jtj", resources: list | None = None, **fields) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "name": f"dataset-{n:03d}",
        "title": f"交通运输数据集{n}",
        "notes": "**公交**站点数据",
        "organization": org,
        "groups": [{"name": "jtcx"}],
        "tags": [{"name": "公交"}, {"name": "站点"}],
        "license_id": "cc-by",
        "extras": [{"key": "update_frequency", "value": "每月"}],
        "resources": resources
        if resources is not None
        else [{"id": f"10000000-0000-4000-8000-{n:012d}", "name": "站点表", "format": "CSV", "url": ""}],
        **fields,
    }


def fake_ckan(packages: int = 7) -> FakeCkan:
    """A CKAN with ORGS, GROUPS and `packages` packages spread over the organizations."""
    fake = FakeCkan()
    for org in ORGS:
        fake.add_organization(org)
    for group in GROUPS:
        fake.add_group(group)
    for n in range(1, packages + 1):
        fake.add_package(package(n, org=ORGS[n % 3]["name"]))
    return fake


def source(url: str, **options) -> remote.CkanSource:
    return remote.CkanSource(
        url, timeout=options.pop("timeout", 5), retries=options.pop("retries", 2), backoff=0, **options
    )


def sync(url_or_source, *, full=False, mirror=False, store=None, **settings) -> SyncRun:
    src = source(url_or_source) if isinstance(url_or_source, str) else url_or_source
    settings = run.Settings(full=full, mirror=mirror, **settings)
    return run.sync(src, settings, store=store, fetcher=commands.fetcher_from_config())


def published() -> set[str]:
    return set(db.session.scalars(select(Dataset.name).where(Dataset.state == "published")))


def release_holds() -> None:
    """Release every dataset the sync held for personal data, as the office does, and commit."""
    office = make_user(ADMIN)
    for hold in db.session.scalars(screen.held_datasets()).all():
        screen.release(hold.dataset, by=office, reason="已核实：测试数据", now=utcnow())
    db.session.commit()
