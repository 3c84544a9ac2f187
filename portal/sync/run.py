"""A sync run: read the source, write each dataset, mirror and measure, reconcile, record.

Long-running on purpose, so it commits per dataset (and per resource when mirroring):
a run killed half-way loses nothing already written, and the watermark only moves
after a run with no error, so the next run picks up whatever was missed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from portal.catalogue.models import PUBLISHED, Dataset, Resource
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.sync import lock, mirror, volume
from portal.sync.mapping import MalformedPackage, parse_package
from portal.sync.models import FAILED, PARTIAL, RUNNING, SUCCEEDED, SyncError, SyncRun, SyncSource
from portal.sync.remote import BrokenEntry, PackageGone, SourceUnavailable
from portal.sync.write import UNCHANGED, Writer, withdraw

SEED_DEPARTMENTS = Path(__file__).resolve().parents[2] / "seeds" / "departments.json"
HEARTBEAT_EVERY = 5.0  # seconds
COUNTERS = ("seen", "created", "updated", "unchanged", "restored", "withdrawn", "failed")


@dataclass
class Settings:
    full: bool = False
    mirror: bool = False
    safety_margin: timedelta = timedelta(minutes=10)
    mirror_max_size: int = 200 * 1024 * 1024
    started_by_id: int | None = None


Progress = Callable[[int, int], None]


def seed_codes(path: Path = SEED_DEPARTMENTS) -> dict[str, str]:
    """Return the seed mapping of CKAN organization names to region codes."""
    if not path.exists():
        return {}
    return {d["name"]: d["region_code"] for d in json.loads(path.read_text("utf-8")) if d.get("region_code")}


def start(source, settings: Settings) -> SyncRun:
    """Take the lock and record a new run; raise lock.SyncBusy when one is running."""
    lock.acquire()
    try:
        row = db.session.scalar(select(SyncSource).where(SyncSource.location == source.location))
        if row is None:
            row = SyncSource(location=source.location)
            db.session.add(row)
            db.session.flush()
        db.session.execute(  # runs left "running" by a killed process
            update(SyncRun)
            .where(SyncRun.status == RUNNING)
            .values(status=FAILED, finished_at=utcnow(), message="interrupted before it finished")
        )
        run = SyncRun(
            source=row,
            full=settings.full,
            mirror=settings.mirror,
            watermark_before=row.watermark,
            started_by_id=settings.started_by_id,
        )
        db.session.add(run)
        db.session.flush()
        lock.attach(run.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        lock.release()
        raise
    return run


def execute(
    run: SyncRun, source, settings: Settings, *, store=None, fetcher=None, progress: Progress | None = None
) -> SyncRun:
    """Carry out a started run to its end, then release the lock. Never raises for data faults."""
    job = _Job(run, source, settings, store, fetcher or mirror.Fetcher(), progress)
    try:
        job.go()
    except SourceUnavailable as exc:
        job.finish(FAILED, f"source unavailable: {exc}")
    except Exception as exc:
        db.session.rollback()
        job.finish(FAILED, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        lock.release()
    return run


def sync(source, settings: Settings, **kwargs) -> SyncRun:
    """Start and execute a run in one go (the CLI's way)."""
    return execute(start(source, settings), source, settings, **kwargs)


class _Job:
    def __init__(self, run, source, settings, store, fetcher, progress) -> None:
        self.run, self.source, self.settings = run, source, settings
        self.store, self.fetcher, self.progress = store, fetcher, progress or (lambda done, total: None)
        self.last_beat = time.monotonic()
        self.newest: datetime | None = None
        self.seen_ids: set[str] = set()
        self.counts = dict.fromkeys(COUNTERS, 0)  # kept here: a rollback must not lose them

    def bump(self, counter: str) -> None:
        self.counts[counter] += 1

    def commit(self) -> None:
        for counter, value in self.counts.items():
            setattr(self.run, counter, value)
        db.session.commit()

    def go(self) -> None:
        watermark = self.run.source.watermark
        since = None if self.settings.full or watermark is None else watermark - self.settings.safety_margin
        writer = Writer(organizations=self.source.organizations(), seed_codes=seed_codes())
        total = self.source.count(since)
        for done, entry in enumerate(self.source.packages(since), start=1):
            self._take(writer, entry)
            self.progress(done, max(total, done))
            self._heartbeat()
        if self.settings.full:
            self._reconcile(writer)
        status = SUCCEEDED if self.counts["failed"] == 0 else PARTIAL
        if status == SUCCEEDED:
            source = self.run.source
            if self.newest is not None and (source.watermark is None or self.newest > source.watermark):
                source.watermark = self.newest
            source.last_success_at = utcnow()
        self.run.watermark_after = self.run.source.watermark
        if self.counts["failed"]:
            message = "some datasets failed; the watermark stays"
        elif self.run.errors:
            message = f"{len(self.run.errors)} resource problem(s) noted; the next --full run retries them"
        else:
            message = ""
        self.finish(status, message)

    def _take(self, writer: Writer, entry: dict) -> None:
        self.bump("seen")
        if isinstance(entry, BrokenEntry):
            self._error("", "read", entry.get("reason", "broken entry"))
            return
        label = str(entry.get("name") or entry.get("id") or "?")[:200]
        try:
            rec = parse_package(entry)
        except MalformedPackage as exc:
            self._error(label, "validate", str(exc))
            return
        self.seen_ids.add(rec.ckan_id)
        try:
            outcome, dataset = writer.write(rec, utcnow())
            self.bump(outcome)
            self.commit()
        except Exception as exc:  # one bad package must not stop the others
            db.session.rollback()
            writer.forget()
            self._error(label, "write", f"{type(exc).__name__}: {exc}")
            return
        if self.newest is None or rec.metadata_modified > self.newest:
            self.newest = rec.metadata_modified
        if outcome != UNCHANGED or self.settings.full:
            self._resources(dataset, refresh_datastore=self.settings.full)

    def _resources(self, dataset: Dataset, *, refresh_datastore: bool) -> None:
        """Mirror and measure the dataset's resources, each in its own transaction."""
        for resource in [r for r in dataset.resources if r.is_active]:
            try:
                self._process(dataset, resource, refresh_datastore)
                db.session.commit()
            except SourceUnavailable:
                db.session.rollback()
                raise
            except Exception as exc:  # one bad resource must not stop the others
                db.session.rollback()
                self._error(
                    dataset.name, "resource", f"{type(exc).__name__}: {exc}", resource=resource.ckan_id
                )
        self._mark_duplicates(dataset)

    def _process(self, dataset: Dataset, resource: Resource, refresh_datastore: bool) -> None:
        """Mirror the file when it changed, then measure it: DataStore first, else the file."""
        local = self.source.local_file(resource.url)
        wanted = self.settings.mirror and self.store is not None and resource.format in volume.MIRRORED
        if wanted and resource.mirrored_at is None:
            self._mirror(dataset, resource, local)
            resource.volume_computed_at = None  # count the new copy
        if resource.datastore_active and (refresh_datastore or resource.volume_computed_at is None):
            shape = self.source.datastore_shape(resource.ckan_id)
            if shape is not None:
                resource.records, resource.fields = shape
                resource.volume_source, resource.volume_computed_at = "datastore", utcnow()
                resource.invalid_reason = None
                _judge(resource)
                return
        if resource.volume_computed_at is None:
            self._count_file(resource, local)
            _judge(resource)

    def _mirror(self, dataset: Dataset, resource: Resource, local: Path | None) -> None:
        key = mirror.storage_key(dataset.ckan_id, resource.ckan_id, resource.url, resource.format)
        try:
            stored = mirror.copy(
                self.fetcher,
                self.store,
                key=key,
                url=resource.url,
                local=local,
                fmt=resource.format,
                mimetype=resource.mimetype,
                max_size=self.settings.mirror_max_size,
            )
        except mirror.MirrorFailed as exc:
            resource.mirror_error = str(exc)[:500]  # mirrored_at stays empty: a --full run tries again
            if resource.format in volume.COUNTABLE:  # only data files matter to the volume
                self._error(dataset.name, "mirror", str(exc), resource=resource.ckan_id)
            return
        resource.storage_key, resource.mirrored_size = stored.key, stored.size
        resource.sha256, resource.content_type = stored.sha256, stored.content_type
        resource.mirrored_at, resource.mirror_error = utcnow(), None

    def _count_file(self, resource: Resource, local: Path | None) -> None:
        resource.records = resource.fields = resource.volume_source = resource.invalid_reason = None
        resource.volume_computed_at = utcnow()
        if resource.format not in volume.COUNTABLE:
            return
        if resource.storage_key and resource.mirrored_at is not None and self.store is not None:
            opened = self.store.open(resource.storage_key)
        elif local is not None:
            opened = local.open("rb")
        else:
            return  # unmeasured: neither a copy nor a local file to count
        with opened as stream:
            try:
                resource.records, resource.fields = volume.measure(stream, resource.format)
                resource.volume_source = "file"
            except volume.Unmeasurable:
                resource.invalid_reason = "not_machine_readable"

    def _mark_duplicates(self, dataset: Dataset) -> None:
        seen: set[str] = set()
        for resource in sorted(dataset.resources, key=lambda r: r.position):
            if resource.is_active and resource.sha256:
                if resource.sha256 in seen and resource.is_valid:
                    resource.is_valid, resource.invalid_reason = False, "duplicate"
                seen.add(resource.sha256)
        db.session.commit()

    def _reconcile(self, writer: Writer) -> None:
        """Withdraw what CKAN no longer publishes; read what the search missed."""
        listed = self.source.package_names()
        now = utcnow()
        published = db.session.execute(
            select(Dataset.id, Dataset.ckan_id, Dataset.name).where(Dataset.state == PUBLISHED)
        ).all()
        for dataset_id, ckan_id, name in published:
            if ckan_id in self.seen_ids:
                continue
            if name in listed:  # public, but the search did not return it: read it directly
                try:
                    self._take(writer, self.source.show(name))
                except PackageGone:
                    self._error(name, "read", "listed by package_list, but package_show says it is gone")
                continue
            withdraw(db.session.get(Dataset, dataset_id), self._why_gone(name), now)
            self.bump("withdrawn")
            self.commit()
            self._heartbeat()

    def _why_gone(self, name: str) -> str:
        """CKAN answers 404 for a purged dataset, and 403 alike for deleted and private ones."""
        try:
            self.source.show(name)
        except PackageGone as exc:
            return "deleted_or_private" if exc.hidden else "deleted"
        return "deleted"

    def _error(self, package: str, stage: str, message: str, *, resource: str = "") -> None:
        """Record a fault. A failed dataset keeps the watermark; a failed resource is only noted
        (its dataset was written, and the next --full run tries the file again)."""
        if not resource:
            self.bump("failed")
        db.session.add(
            SyncError(
                run=self.run,
                package=package[:200],
                resource=resource[:200],
                stage=stage,
                message=message[:1000],
            )
        )
        self.commit()

    def _heartbeat(self) -> None:
        if time.monotonic() - self.last_beat >= HEARTBEAT_EVERY:
            lock.beat()
            db.session.commit()
            self.last_beat = time.monotonic()

    def finish(self, status: str, message: str) -> None:
        self.run.status, self.run.message = status, message[:2000]
        self.run.finished_at = utcnow()
        self.commit()


def _judge(resource: Resource) -> None:
    """Decide whether the resource counts as valid open data, and why not."""
    url = resource.url.lower()
    if resource.volume_source == "datastore":  # downloadable from the DataStore whatever its URL
        reason = None if resource.records else "empty"
    elif not url or url.startswith(("javascript:", "data:", "vbscript:")):
        reason = "not_downloadable"
    elif resource.mirror_error and resource.mirror_error.startswith(mirror.NOT_DOWNLOADABLE):
        reason = "not_downloadable"
    elif resource.format not in volume.MACHINE_READABLE or resource.invalid_reason == "not_machine_readable":
        reason = "not_machine_readable"
    elif resource.records == 0:
        reason = "empty"
    else:
        reason = None
    resource.is_valid, resource.invalid_reason = reason is None, reason
