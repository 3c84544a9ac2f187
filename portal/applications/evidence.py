"""Evidence of use: whether the county's team downloaded, or called the API for, each dataset claimed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal.activity.models import ActivityEvent
from portal.applications.models import Application
from portal.catalogue.models import Dataset
from portal.extensions import db

KINDS = ("download", "api_call")


@dataclass(frozen=True)
class DatasetUse:
    dataset: Dataset
    downloads: int = 0
    api_calls: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def used(self) -> bool:
        return bool(self.downloads or self.api_calls)


def dataset_use(application: Application) -> list[DatasetUse]:
    """Return, for each dataset the application claims, the team's downloads and API calls of it.

    An event counts when a signed-in member of the application's county made it: events keep the
    user's county at the time, so a member who moved county later still counts for the old one.
    """
    datasets = application.datasets
    if not datasets:
        return []
    rows = db.session.execute(
        select(
            ActivityEvent.dataset_id,
            ActivityEvent.kind,
            func.count(),
            func.min(ActivityEvent.occurred_at),
            func.max(ActivityEvent.occurred_at),
        )
        .where(
            ActivityEvent.region_id == application.region_id,
            ActivityEvent.user_id.is_not(None),
            ActivityEvent.kind.in_(KINDS),
            ActivityEvent.dataset_id.in_([d.id for d in datasets]),
        )
        .group_by(ActivityEvent.dataset_id, ActivityEvent.kind)
    ).all()
    counts: dict[int, dict] = {}
    for dataset_id, kind, count, first_at, last_at in rows:
        entry = counts.setdefault(
            dataset_id, {"downloads": 0, "api_calls": 0, "first_at": None, "last_at": None}
        )
        entry["downloads" if kind == "download" else "api_calls"] += count
        entry["first_at"] = min(filter(None, (entry["first_at"], first_at)), default=None)
        entry["last_at"] = max(filter(None, (entry["last_at"], last_at)), default=None)
    return [DatasetUse(d, **counts.get(d.id, {})) for d in datasets]
