"""Find the loaded rows a caller may read: the resource's row table, its dataset, and the rules.

A resource's rows exist here while its dataset is published, the resource active and its rows loaded.
Reading them follows the download rule (catalogue/permissions.py): everyone for an open dataset, admins
and developers with an approved request for a conditional one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.catalogue import permissions
from portal.catalogue.models import Dataset, Resource
from portal.rows import store
from portal.rows.models import READY, RowTable


class NotFound(Exception):
    """No rows to read under that name (no such resource, withdrawn, or not loaded)."""


class Denied(Exception):
    """The rows exist but the caller may not read them (a conditional dataset without a grant)."""


def readable(session: Session, resource: Resource | None, user) -> RowTable:
    """Return the ready row table of `resource` for `user` (Flask-Login's anonymous user too)."""
    if resource is None or not resource.is_active or not resource.dataset.is_published:
        raise NotFound()
    found = session.scalar(select(RowTable).where(RowTable.resource_id == resource.id))
    if found is None or found.status != READY:
        raise NotFound()
    if not permissions.can_download_dataset(user, resource.dataset):
        raise Denied()
    return found


def by_ckan_id(session: Session, ckan_id: str) -> Resource | None:
    """Return the resource with its dataset, which `readable` reads next (one statement, not two)."""
    return session.scalar(
        select(Resource).options(joinedload(Resource.dataset)).where(Resource.ckan_id == ckan_id)
    )


def in_dataset(session: Session, dataset: Dataset, ckan_id: str) -> Resource | None:
    return session.scalar(
        select(Resource).where(Resource.dataset_id == dataset.id, Resource.ckan_id == ckan_id)
    )


def fields(row_table: RowTable) -> list[store.Field]:
    return [store.Field.from_dict(c) for c in row_table.columns]


def loads_since(session: Session, started_at, limit: int = 20) -> list[RowTable]:
    """Return the loads started at or after `started_at`, newest first: a sync run's progress."""
    query = select(RowTable).where(RowTable.started_at >= started_at).order_by(RowTable.started_at.desc())
    return list(session.scalars(query.options(joinedload(RowTable.resource)).limit(limit)))
