"""A catalogue published through the real sync from a `ckanapi dump` file, for the API tests.

`package(n, ...)` is a package in package_show shape, as a dump line holds it; `publish` syncs packages
into the catalogue as `flask sync` would, so the APIs read what the sync really writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from portal.catalogue.models import WITHDRAWN, Dataset
from portal.extensions import db
from portal.sync import remote, run

ORGS = {
    "hn-jtysj": {
        "id": "6a1f3c1e-0000-4000-8000-000000000001",
        "name": "hn-jtysj",
        "title": "海宁市交通运输局",
    },
    "jx-jtysj": {
        "id": "6a1f3c1e-0000-4000-8000-000000000002",
        "name": "jx-jtysj",
        "title": "嘉兴市交通运输局",
    },
    "nh-wjj": {"id": "6a1f3c1e-0000-4000-8000-000000000003", "name": "nh-wjj", "title": "南湖区卫生健康局"},
}
GROUPS = {
    "jtcx": {"id": "7b2e4d2f-0000-4000-8000-000000000001", "name": "jtcx", "title": "交通出行"},
    "ylws": {"id": "7b2e4d2f-0000-4000-8000-000000000002", "name": "ylws", "title": "医疗卫生"},
}


def package(
    n: int,
    *,
    title: str | None = None,
    org: str = "hn-jtysj",
    groups: tuple[str, ...] = ("jtcx",),
    tags: tuple[str, ...] = ("公交", "站点"),
    formats: tuple[str, ...] = ("CSV",),
    condition: str = "无条件开放",
    modified: str | None = None,
    **fields,
) -> dict:
    """Return a package in package_show shape, as a `ckanapi dump` line holds it."""
    pkg_id = f"{n:08x}-1111-4111-8111-{n:012x}"
    stamp = modified or f"2025-03-{1 + n % 28:02d}T08:{n % 60:02d}:00.123456"
    return {
        "id": pkg_id,
        "name": f"api-dataset-{n:03d}",
        "title": title or f"交通运输数据集{n}",
        "notes": f"第{n}个**数据集**的说明。",
        "author": "数据管理处",
        "maintainer": "数据管理处",
        "license_id": "cc-by",
        "license_title": "Creative Commons Attribution",
        "license_url": "http://www.opendefinition.org/licenses/cc-by",
        "metadata_created": "2024-01-02T03:04:05.678901",
        "metadata_modified": stamp,
        "organization": ORGS[org],
        "owner_org": ORGS[org]["id"],
        "groups": [GROUPS[g] for g in groups],
        "tags": [{"name": t, "display_name": t} for t in tags],
        "extras": [
            {"key": "open_condition", "value": condition},
            {"key": "update_frequency", "value": "每月"},
        ],
        "resources": [
            {
                "id": f"{n:08x}-2222-4222-8222-{i:012x}",
                "name": f"数据表{i}（{fmt}）",
                "description": f"{fmt} 数据文件",
                "format": fmt,
                "mimetype": "text/csv" if fmt == "CSV" else None,
                "size": 1024 * (i + 1),
                "position": i,
                "url": f"https://data.jiaxing.gov.cn/files/{n}/{i}.{fmt.lower()}",
                "last_modified": "2025-01-01T00:00:00",
            }
            for i, fmt in enumerate(formats)
        ],
        "private": False,
        "state": "active",
        "type": "dataset",
        **fields,
    }


def publish(tmp_path: Path, packages: list[dict]) -> None:
    """Sync `packages` into the catalogue through a dump file, as `flask sync` would."""
    dump = tmp_path / f"dump-{len(list(tmp_path.glob('dump-*')))}.jsonl"
    dump.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in packages), "utf-8")
    result = run.sync(remote.DumpSource(dump), run.Settings(full=True))
    assert (result.status, result.failed) == ("succeeded", 0), result.errors


def withdraw(name: str) -> None:
    dataset = db.session.scalar(select(Dataset).where(Dataset.name == name))
    dataset.state = WITHDRAWN
    db.session.commit()
