"""Plain `make_*` factories for the catalogue: keyword defaults, add, flush, return.

`make_dataset` is the one dataset factory of the suite (the applications, contest and metrics factories
use it too). It also writes the dataset's search terms, as the sync does, so that the search finds it;
pass `index=False` to leave it out of the index.
"""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta

from factories import region
from sqlalchemy import func, select

from portal.activity.models import ActivityEvent
from portal.catalogue import search_index
from portal.catalogue.models import (
    PUBLISHED,
    UNCONDITIONAL,
    WITHDRAWN,
    Dataset,
    Department,
    Resource,
    Tag,
    Theme,
)
from portal.extensions import db
from portal.storage import get_storage

_seq = itertools.count(1)
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
CSV = "编号,站点名称,泊位数\n1,南湖区中山路停车场,120\n2,秀洲区洪兴路停车场,80\n".encode()


def make_department(
    *, region_code: str = "330402", title: str = "南湖区交通运输局", name: str | None = None
) -> Department:
    n = next(_seq)
    department = Department(
        ckan_id=f"org-{n}",
        name=name or f"dept-{n}",
        title=title,
        region_id=region(region_code).id,
        region_source="extra",
    )
    db.session.add(department)
    db.session.flush()
    return department


def make_theme(title: str = "交通出行", *, name: str | None = None) -> Theme:
    """Return the theme called `name` (made from the title's sequence when absent), creating it once."""
    n = next(_seq)
    name = name or f"theme-{n}"
    theme = db.session.scalar(select(Theme).where(Theme.name == name))
    if theme is None:
        theme = Theme(ckan_id=f"group-{n}", name=name, title=title)
        db.session.add(theme)
        db.session.flush()
    return theme


def make_tag(name: str = "公交") -> Tag:
    """Return the tag `name`, creating it once."""
    tag = db.session.scalar(select(Tag).where(Tag.name == name))
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
        db.session.flush()
    return tag


def make_resource(dataset: Dataset, *, format: str = "CSV", state: str = "active", **fields) -> Resource:
    n = next(_seq)
    resource = Resource(
        ckan_id=f"eeeeeeee-0000-4000-8000-{n:012d}",  # apart from the ids the fake CKANs hand out
        dataset=dataset,
        name=fields.pop("name", f"资源{n}"),
        format=format.upper(),
        state=state,
        position=len(dataset.resources),
        url=fields.pop("url", f"https://ckan.example.cn/r/{n}.{format.lower()}"),
        **fields,
    )
    db.session.add(resource)
    db.session.flush()
    return resource


def make_dataset(
    title: str = "南湖区公共厕所分布",
    *,
    notes: str = "本数据集每月更新，开放方式：无条件开放。",
    department: Department | None = None,
    themes: list[Theme | str] = (),
    tags: list[Tag | str] = (),
    open_condition: str = UNCONDITIONAL,
    state: str = PUBLISHED,
    resources: list[dict] = ({"format": "CSV"},),
    modified: datetime | None = None,
    download_count: int = 0,
    name: str | None = None,
    extras: dict | None = None,
    index: bool = True,
) -> Dataset:
    """Make a dataset; themes and tags may be given as objects or as titles / names."""
    n = next(_seq)
    dataset = Dataset(
        ckan_id=f"dddddddd-0000-4000-8000-{n:012d}",  # apart from the ids the fake CKANs hand out
        name=name or f"dataset-{n}",
        title=title,
        notes=notes,
        department=department,
        open_condition=open_condition,
        state=state,
        metadata_modified=modified or BASE_TIME + timedelta(hours=n),
        download_count=download_count,
        extras=extras or {},
        themes=[t if isinstance(t, Theme) else make_theme(t, name=f"theme-{t}") for t in themes],
        tags=[t if isinstance(t, Tag) else make_tag(t) for t in tags],
    )
    if state == WITHDRAWN:
        dataset.withdrawn_reason, dataset.withdrawn_at = "deleted", BASE_TIME
    db.session.add(dataset)
    db.session.flush()
    for values in resources:
        make_resource(dataset, **values)
    if index:
        search_index.index_dataset(db.session.connection(), dataset.id)
    return dataset


# Downloads: a resource whose file is in the app's storage, its address, and what a download counted.


def mirrored(dataset: Dataset, data: bytes = CSV, *, filename: str = "parking.csv", **fields) -> Resource:
    """Make a resource whose file is in the app's storage, and commit."""
    resource = make_resource(dataset, name=fields.pop("name", "停车场泊位（CSV）"), **fields)
    resource.storage_key = f"resources/{dataset.ckan_id}/{resource.ckan_id}/{filename}"
    resource.content_type = fields.get("content_type", "text/csv")
    get_storage().put(resource.storage_key, io.BytesIO(data))
    db.session.commit()
    return resource


def download_url(dataset: Dataset, resource: Resource) -> str:
    return f"/datasets/{dataset.name}/resources/{resource.ckan_id}/download"


def counts(dataset: Dataset, resource: Resource) -> tuple[int, int, int]:
    """Return the dataset's and the resource's download counts, and the number of download events."""
    db.session.expire_all()
    events = db.session.scalar(
        select(func.count()).where(ActivityEvent.kind == "download", ActivityEvent.resource_id == resource.id)
    )
    return (
        db.session.get(Dataset, dataset.id).download_count,
        db.session.get(Resource, resource.id).download_count,
        events,
    )
