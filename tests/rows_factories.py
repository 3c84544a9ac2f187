"""The row store tests' CKAN: DataStore tables, records and packages (see conftest.py for the fixtures)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from catalogue_factories import make_dataset, mirrored
from sqlalchemy import select
from sync_factories import release_holds

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.rows import loader, store, tables
from portal.rows.models import RowTable
from portal.storage import get_storage
from portal.sync import remote, run

ORG = {"id": "org-jx-jtj", "name": "jiaxing-jtj", "title": "嘉兴市交通运输局"}
STOPS = "20000000-0000-4000-8000-000000000001"  # a DataStore table of 250 bus stops
TOILETS = "20000000-0000-4000-8000-000000000002"  # a small one, with a personal column
GB_CSV = "20000000-0000-4000-8000-000000000003"  # a mirrored GB18030 CSV, no DataStore
CONDITIONAL_TABLE = "20000000-0000-4000-8000-000000000004"  # a table of a conditional dataset

STOP_FIELDS = [
    {"id": "站点名称", "type": "text"},
    {"id": "线路", "type": "text"},
    {"id": "座位数", "type": "int"},
    {"id": "经度", "type": "numeric"},
    {"id": "启用时间", "type": "timestamp"},
]
LINES = ["1路", "2路", "K3路", "快速公交"]


def stop_records(count: int = 250) -> list[dict]:
    return [
        {
            "站点名称": f"{'南湖' if n % 5 == 0 else '秀洲'}区站点{n}",
            "线路": LINES[n % len(LINES)],
            "座位数": n % 7,
            "经度": round(120.7 + n / 10000, 4),
            "启用时间": f"2024-01-{n % 28 + 1:02d}T08:00:00",
        }
        for n in range(1, count + 1)
    ]


TOILET_FIELDS = [{"id": "公厕名称", "type": "text"}, {"id": "管理员电话", "type": "text"}]
TOILET_RECORDS = [
    {"公厕名称": "南湖公厕", "管理员电话": "13812345678"},
    {"公厕名称": "月河公厕", "管理员电话": "13987654321"},
    {"公厕名称": "梅湾公厕", "管理员电话": None},
]
TYPED = "20000000-0000-4000-8000-000000000005"  # CKAN's other types: bool, timestamp, json, numeric
TYPED_FIELDS = [
    {"id": "名称", "type": "text"},
    {"id": "开放", "type": "bool"},
    {"id": "更新时间", "type": "timestamp"},
    {"id": "标签", "type": "_text"},
    {"id": "属性", "type": "json"},
    {"id": "金额", "type": "numeric"},
    {"id": "大数", "type": "int8"},
]
TYPED_RECORDS = [
    {"名称": "甲", "开放": True, "更新时间": "2025-03-01T08:00:00", "标签": ["交通", "公交"],
     "属性": {"层": 2, "备注": None}, "金额": 12.5, "大数": 9007199254740993},
    {"名称": "乙", "开放": False, "更新时间": None, "标签": [], "属性": None, "金额": 7, "大数": -1},
    {"名称": None, "开放": None, "更新时间": "2025-12-31T23:59:59", "标签": None, "属性": [1, "二"],
     "金额": None, "大数": None},
]  # fmt: skip
PUBLIC_TABLES = (STOPS, TOILETS, TYPED)  # every public DataStore table of the fake CKAN
GB_CSV_BYTES = "名称,类别,数量\n嘉兴南湖,景区,12\n乌镇,古镇,0571\n".encode("gb18030")


def resource(rid: str, name: str, **fields) -> dict:
    return {
        "id": rid,
        "name": name,
        "format": "CSV",
        "url": f"http://ckan.example/{rid}.csv",
        "last_modified": "2025-01-01T00:00:00",
        **fields,
    }


def package(n: int, resources: list[dict], **fields) -> dict:
    return {
        "id": f"10000000-0000-4000-8000-{n:012d}",
        "name": f"rows-dataset-{n}",
        "title": f"公交站点数据{n}",
        "notes": "站点",
        "organization": ORG["name"],
        "license_id": "cc-by",
        "resources": resources,
        "metadata_modified": f"2025-02-0{n}T00:00:00",
        **fields,
    }


def sync_rows(url: str, store=None, *, release: bool = True, **settings):
    """Sync with rows loaded. The sync holds back tables with unmasked personal data (the toilets'
    管理员电话 are mobile numbers); unless `release` is False the office then releases them, so the row
    answers' masking is tested on the data that reaches them."""
    source = remote.CkanSource(url, timeout=5, retries=1, backoff=0)
    options = {"full": True, "rows": True, **settings}
    done = run.sync(source, run.Settings(**options), store=store)
    if release:
        release_holds()
    return done


@contextmanager
def loaded_csv(data: str) -> Iterator[tuple[str, list]]:
    """Load the CSV text `data` as a mirrored resource's rows (the sync's loader), lend its table's name
    and fields, and drop the table after."""
    resource = mirrored(make_dataset(), data.encode(), filename="stops.csv")
    resource.sha256, resource.mirrored_at = hashlib.sha256(data.encode()).hexdigest(), utcnow()
    db.session.commit()
    loader.load(db.session, resource, source=None, open_stored=get_storage().open, commit=db.session.commit)
    row_table = db.session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
    yield row_table.table_name, tables.fields(row_table)
    db.session.rollback()
    store.drop(db.session.connection(), row_table.table_name)
    db.session.commit()
