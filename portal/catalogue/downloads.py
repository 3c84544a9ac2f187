"""Downloads: how a resource's file reaches the user, the download counters, and a user's download history.

A mirrored file is served from storage: a short-lived presigned URL on MinIO, or the file itself streamed
from the local folder. A file that is not mirrored is a redirect to its original URL when that is
http(s); anything else is not downloadable.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.accounts.models import User
from portal.activity.models import ActivityEvent, DownloadMark
from portal.catalogue import rendering
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.refusals import Refusal
from portal.storage import OCTET_STREAM, Storage, StorageError

PRESIGNED_EXPIRY = timedelta(minutes=5)
MAX_FILENAME = 120
# Served as attachments anyway; never let the browser treat a CKAN file as a page or a script of ours.
_ACTIVE_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
}


class NotDownloadable(Refusal):
    """The resource has no mirrored copy and no http(s) URL."""

    def __init__(self) -> None:
        super().__init__(_l("This resource has no file we can serve and no web address to send you to."))


@dataclass
class Delivery:
    """How to answer a download: a redirect to `url`, or `stream` sent as an attachment."""

    url: str | None = None
    stream: BinaryIO | None = None
    filename: str = ""
    content_type: str = OCTET_STREAM


def is_downloadable(resource: Resource) -> bool:
    """Tell whether the resource has a mirrored copy or an http(s) URL to send the user to."""
    return bool(resource.storage_key or rendering.safe_url(resource.url))


def deliver(resource: Resource, store: Storage, *, expires: timedelta = PRESIGNED_EXPIRY) -> Delivery:
    """Choose how to serve the resource; raise NotDownloadable when it cannot be.

    A mirrored copy that has gone missing from the local folder falls back to the original URL.
    """
    filename = download_filename(resource)
    content_type = download_content_type(resource, filename)
    if resource.storage_key:
        try:
            url = store.url_for_download(
                resource.storage_key, filename=filename, content_type=content_type, expires=expires
            )
            if url:
                return Delivery(url=url)
            return Delivery(
                stream=store.open(resource.storage_key), filename=filename, content_type=content_type
            )
        except StorageError:  # ObjectNotFound included
            pass
    original = rendering.safe_url(resource.url)
    if original:
        return Delivery(url=original)
    raise NotDownloadable()


def download_filename(resource: Resource) -> str:
    """Name the file after the resource, with the extension of its stored copy or its format."""
    stored_ext = os.path.splitext(resource.storage_key or "")[1].lower()
    ext = stored_ext or (
        f".{resource.format.lower()}" if re.fullmatch(r"[A-Za-z0-9]{1,10}", resource.format) else ""
    )
    stem = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", resource.name or "").strip(" .") or "download"
    stem = stem[: MAX_FILENAME - len(ext)].strip()
    return stem if stem.lower().endswith(ext) else stem + ext


def download_content_type(resource: Resource, filename: str) -> str:
    """Return the content type to serve: the stored one, else guessed from the name, never an active type."""
    content_type = (resource.content_type or "").split(";")[0].strip().lower()
    content_type = content_type or mimetypes.guess_type(filename)[0] or OCTET_STREAM
    return OCTET_STREAM if content_type in _ACTIVE_TYPES else content_type


def count_download(dataset: Dataset, resource: Resource, *, who: str, day: date) -> bool:
    """Count a download by `who` on `day`: once per dataset and once per resource a day; return
    whether the dataset's count moved.

    `who` names a user ("user:<id>") or an anonymous visitor (a hash of the address): a cookie or a
    user agent is the client's to choose, so one client could pass for many with them. Counts move
    in the database (no lost updates); a mark that is already there moves nothing, even when two
    requests race. Crawlers are the caller's to leave out. Marks of days before `day` are pruned.
    """
    moved = False
    for model, row_id, mark in ((Dataset, dataset.id, 0), (Resource, resource.id, resource.id)):
        if not _mark(day, who, dataset.id, mark):
            continue
        moved = moved or model is Dataset
        db.session.execute(
            update(model)
            .where(model.id == row_id)
            .values(download_count=model.download_count + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(dataset if model is Dataset else resource, ["download_count"])
    if moved:
        db.session.execute(
            delete(DownloadMark).where(DownloadMark.day < day).execution_options(synchronize_session=False)
        )
    return moved


def recount_from_events() -> None:
    """Set every dataset's and resource's download count to its counted download events.

    One definition of a download serves the cards, the dataset page, the APIs and the statistics: a
    download event that is not a crawler's. The site records one exactly when `count_download` moves
    a dataset's count, so the two agree as the site runs; this recount is for events that went in
    without it (the demo's bulk inserts). Raw events older than the retention are purged, so never
    run it on a live catalogue: counts would drop.
    """
    for model, column in ((Dataset, ActivityEvent.dataset_id), (Resource, ActivityEvent.resource_id)):
        counted = db.session.execute(  # one pass over the events, grouped: no lookup per row
            select(column, func.count())
            .where(ActivityEvent.kind == "download", ActivityEvent.is_bot.is_(False), column.is_not(None))
            .group_by(column)
        ).all()
        db.session.execute(
            update(model).values(download_count=0).execution_options(synchronize_session=False)
        )
        if counted:
            db.session.execute(
                update(model.__table__).where(model.__table__.c.id == bindparam("row_id")),
                [{"row_id": row_id, "download_count": n} for row_id, n in counted],
            )
    db.session.expire_all()


def _mark(day: date, who: str, dataset_id: int, resource_id: int) -> bool:
    """Add a download mark; return False when it was already there."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(DownloadMark).values(day=day, who=who, dataset_id=dataset_id, resource_id=resource_id)
    added = statement.on_conflict_do_nothing().returning(DownloadMark.day)
    return db.session.execute(added).first() is not None  # rowcount is not reliable here on psycopg


def downloads_of(user: User) -> Select:
    """Select the user's download events, newest first."""
    return (
        select(ActivityEvent)
        .where(ActivityEvent.user_id == user.id, ActivityEvent.kind == "download")
        .order_by(ActivityEvent.occurred_at.desc(), ActivityEvent.id.desc())
    )


def with_files(
    events: Sequence[ActivityEvent],
) -> list[tuple[ActivityEvent, Dataset | None, Resource | None]]:
    """Pair download events with their dataset and resource (either may be gone), in two queries."""
    dataset_ids = {e.dataset_id for e in events if e.dataset_id}
    resource_ids = {e.resource_id for e in events if e.resource_id}
    datasets = {d.id: d for d in db.session.scalars(select(Dataset).where(Dataset.id.in_(dataset_ids)))}
    resources = {r.id: r for r in db.session.scalars(select(Resource).where(Resource.id.in_(resource_ids)))}
    return [(e, datasets.get(e.dataset_id or 0), resources.get(e.resource_id or 0)) for e in events]
