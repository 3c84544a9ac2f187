"""A sync run: read the source, write each dataset, mirror and measure, reconcile, record.

Long-running on purpose, so it commits as it goes: files are mirrored and measured first,
then the dataset and its resources are written. Datasets are committed by batches
(COMMIT_EVERY datasets or COMMIT_SECONDS, whichever comes first) together with the run's
counters, so the run's record always tells what is committed; a dataset whose files were
just mirrored, or whose rows are loaded, or that has problems to record, is committed at once.
A batch's rows are read ahead in a few statements, and its writes are held back by the writer
and flushed in a few more before the commit (sync/write.py). A run killed half-way loses
nothing committed, and the watermark only moves after a run with no error, so the next run
picks up whatever was missed (the uncommitted batch included). A dataset that fails rolls
back its batch: the batch's other datasets are written again one by one (`_Job._replay`), and
so are all of a batch's datasets when its flush fails.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from portal import storage
from portal.audit import log as audit_log
from portal.catalogue import rules
from portal.catalogue.models import PUBLISHED, WITHDRAWN, Dataset, Resource
from portal.dbtypes import utcnow
from portal.extensions import db, set_sqlite_memory_map
from portal.rows import loader, retire
from portal.sync import identity, lock, mirror, outcome, screen, volume
from portal.sync.assess import Assessor, mark_duplicates
from portal.sync.mapping import MalformedPackage, parse_package
from portal.sync.models import (
    FAILED,
    HELD,
    PARTIAL,
    RUNNING,
    SUCCEEDED,
    PersonalDataHold,
    SyncError,
    SyncRun,
    SyncSource,
)
from portal.sync.remote import BrokenEntry, PackageGone, SourceUnavailable
from portal.sync.write import UNCHANGED, WITHDRAWN_NOW, Writer, resource_values, withdraw

SEED_DEPARTMENTS = Path(__file__).resolve().parents[2] / "seeds" / "departments.json"
HEARTBEAT_EVERY = 5.0  # seconds
PREFETCH = 200  # packages read ahead, so that their DataStore shapes are fetched in parallel
COMMIT_EVERY = 200  # datasets per commit: a commit per dataset was most of the sync's time on PostgreSQL
COMMIT_SECONDS = 2.0  # and at least this often, so that a slow batch is not held for long
COUNTERS = ("seen", "created", "updated", "unchanged", "restored", "withdrawn", "relinked", "held", "failed")


@dataclass
class Settings:
    full: bool = False
    mirror: bool = False
    safety_margin: timedelta = timedelta(minutes=10)
    mirror_max_size: int = 200 * 1024 * 1024
    started_by_id: int | None = None
    rows: bool = False  # load structured resources' rows into the row store (portal/rows)
    ungraded: str = rules.UNGRADED_OPEN  # what becomes of datasets without a data level (catalogue/rules.py)


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
            .values(status=FAILED, finished_at=utcnow(), message=outcome.INTERRUPTED)
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
        lock.release(None)
        raise
    return run


def execute(
    run: SyncRun, source, settings: Settings, *, store=None, fetcher=None, progress: Progress | None = None
) -> SyncRun:
    """Carry out a started run to its end, then release the lock. Never raises for data faults."""
    job = _Job(run, source, settings, store, fetcher or mirror.Fetcher(), progress)
    set_sqlite_memory_map(db.session, 0)  # restored below: the run's resident memory stays its own
    try:
        job.go()
    except SourceUnavailable as exc:
        job.rollback()
        job.finish(FAILED, f"{outcome.SOURCE_UNAVAILABLE}: {exc}")
    except lock.LockLost as exc:
        job.rollback()
        job.finish(FAILED, f"{outcome.LOCK_LOST}: {exc} (it went quiet for too long)")
    except Exception as exc:
        job.rollback()
        job.finish(FAILED, f"{type(exc).__name__}: {exc}")
        raise
    except BaseException:  # interrupted (Ctrl-C): what is not committed is dropped, as a kill drops it
        job.rollback()
        raise
    finally:
        lock.release(run.id)
        set_sqlite_memory_map(db.session)
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
        self.withdrawals: list[tuple[int, str, rules.Grade]] = []  # published datasets withheld by level
        self.deleted_files: list[tuple[int, str]] = []  # (dataset id, storage key) deleted as withheld
        self.newly_held: list[str] = []  # names of the datasets this run held for personal data review
        self.pending: list[dict] = []  # package dicts taken since the last commit
        self.writer: Writer | None = None
        self.one_by_one = settings.rows  # rows are loaded after their dataset is committed
        self._saved()
        self.assessor = Assessor(
            source=source,
            store=store,
            fetcher=self.fetcher,
            full=settings.full,
            mirror=settings.mirror,
            max_size=settings.mirror_max_size,
        )

    def bump(self, counter: str) -> None:
        self.counts[counter] += 1

    def commit(self) -> None:
        """Commit, saving the counters on the run too: what the run says is what was committed."""
        if self.writer is not None:
            self.writer.flush()
        for counter, value in self.counts.items():
            setattr(self.run, counter, value)
        db.session.commit()
        self._saved()

    def _saved(self) -> None:
        """Remember the state the last commit saved, which a rolled-back batch returns to."""
        self.pending.clear()
        self.committed_at = time.monotonic()
        self.saved = (dict(self.counts), self.newest, len(self.withdrawals), len(self.newly_held))

    def _done(self, entry: dict, *, at_once: bool = False) -> bool:
        """Count a package taken into the batch; flush and commit the batch when it is due. Return
        False when the flush failed: the batch was written again one by one, this package included."""
        self.pending.append(entry)
        if (
            at_once
            or self.one_by_one
            or len(self.pending) >= COMMIT_EVERY
            or time.monotonic() - self.committed_at >= COMMIT_SECONDS
        ):
            if not self._flush():
                return False
            self.commit()
        return True

    def _flush(self) -> bool:
        """Write the rows the writer holds back. When that fails (which dataset's rows failed is not
        known), the batch is rolled back and its packages are taken again one by one, each committed
        alone, so that a failing one fails alone; return False then."""
        if self.writer is None or not self.writer.holds_rows():
            return True
        try:
            self.writer.flush()
        except Exception:
            self._replay(self.rollback())
            return False
        return True

    def _replay(self, lost: list[dict]) -> None:
        """Take packages again (a rolled-back batch's), each committed on its own."""
        self.one_by_one, careful = True, self.one_by_one
        try:
            for entry in lost:
                self._take(self.writer, entry)
        finally:
            self.one_by_one = careful

    def rollback(self) -> list[dict]:
        """Roll back to the last commit, the run's own state too; return the package dicts lost."""
        db.session.rollback()
        if self.writer is not None:
            self.writer.forget()  # its caches and held-back links may name rows rolled back
        lost = list(self.pending)
        counts, self.newest, withdrawals, held = self.saved
        self.counts.update(counts)
        del self.withdrawals[withdrawals:], self.newly_held[held:]
        self.pending.clear()
        return lost

    def _rolled_back(self, writer: Writer) -> None:
        """Roll a failed dataset back (it stays seen), then write the datasets of its batch that the
        rollback lost again, each committed on its own (so that a failing one fails alone)."""
        lost = self.rollback()
        self.bump("seen")
        self._replay(lost)

    def go(self) -> None:
        watermark = self.run.source.watermark
        since = None if self.settings.full or watermark is None else watermark - self.settings.safety_margin
        writer = self.writer = Writer(organizations=self.source.organizations(), seed_codes=seed_codes())
        self.referee = identity.Referee(self.source, whole=since is None)
        total = self.source.count(since)
        done = 0
        batches = _batches(self.source.packages(since), PREFETCH)
        for batch, shapes, samples in _read_ahead(self.source, batches):
            self.assessor.shapes = shapes
            self.source.keep_samples(samples)  # for the personal data scan
            writer.read_ahead(batch)  # their rows, in three statements
            for entry in batch:
                self._take(writer, entry)
                done += 1
                self.progress(done, max(total, done))
                self._heartbeat()
        writer.ahead = None
        self._flush()
        self.one_by_one = True  # what is left is rare: each dataset is committed on its own
        self._catch_up(writer)
        if self.settings.full:
            self._reconcile(writer)
        self.commit()  # the last batch, before anything that may roll back
        self._purge_withheld()
        self._drop_retired_rows()
        self._tell_office()
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
        rec, problem, label = None, None, ""
        if isinstance(entry, BrokenEntry):
            problem = ("", "read", entry.get("reason", "broken entry"))
        else:
            label = str(entry.get("name") or entry.get("id") or "?")[:200]
            try:
                rec = parse_package(entry)
            except MalformedPackage as exc:
                problem = (label, "validate", str(exc))
        if rec is not None and writer.must_flush(rec):
            self._flush()  # rows held back touch its rows: written first, so that they are read as they are
        self.bump("seen")
        if problem is not None:  # recorded with the batch (a batch written again records it again)
            self._error(*problem, commit=False)
            self._done(entry)
            return
        self.seen_ids.add(rec.ckan_id)
        try:
            problems, stored = self._write(writer, rec)
            if self.one_by_one:
                writer.flush()  # only its own rows are held back: a failure is its own
        except SourceUnavailable:
            raise  # the run stops: execute() rolls back
        except identity.NameClash as exc:
            self._rolled_back(writer)
            holder = exc.holder and writer.name_holder(rec)  # as the batch written again left it
            if holder is not None:  # neither is published under the name
                writer.withdraw_row(holder, identity.CLASH_REASON, utcnow())
            self._error(label, "clash", str(exc))
            return
        except Exception as exc:  # one bad package must not stop the others
            self._rolled_back(writer)
            self._error(label, "write", f"{type(exc).__name__}: {exc}")
            return
        if self.newest is None or rec.metadata_modified > self.newest:
            self.newest = rec.metadata_modified
        if not self._done(entry, at_once=stored or bool(problems) or self.settings.rows):
            return  # its batch failed to flush and was taken again one by one, this package included
        if self.settings.rows:
            problems += self._load_rows([r.ckan_id for r in rec.resources])
        for resource_id, stage, message in problems:  # each committed (its dataset is)
            self._error(rec.name, stage, message, resource=resource_id)

    def _write(self, writer: Writer, rec) -> tuple[list[tuple[str, str, str]], bool]:
        """Assess the resources (downloads happen here), then write the dataset, uncommitted; return
        the resources' problems and whether a file was stored (then the dataset is committed at once)."""
        old, old_resources = writer.existing(rec)
        grade = rules.grade(rec.data_level, rec.open_condition, ungraded=self.settings.ungraded)
        if grade.unknown:
            self._error(
                rec.name,
                "level",
                f"unknown data_level {rec.data_level!r}: graded {grade.level} (the strictest), not published",
                fault=False,
                commit=False,  # with its dataset
            )
        unchanged = (
            old is not None
            and old["state"] == PUBLISHED
            and grade.publishable
            and old["metadata_modified"] == rec.metadata_modified
            and (old["data_level"], old["open_condition"]) == (grade.level, grade.open_condition)
        )
        if unchanged and not self.settings.full:
            self.bump(UNCHANGED)
            return [], False
        if not unchanged and self.referee.settle(writer, rec, old, utcnow()):  # else its name is its own
            old, old_resources = writer.existing(rec)
        problems = []
        resources = [resource_values(r, old_resources.get(r.ckan_id)) for r in rec.resources]
        if grade.publishable:
            self.assessor.mirror_ahead(rec.ckan_id, resources)  # several files at once
        for values in resources if grade.publishable else ():  # a withheld dataset's files are not fetched
            stage = "mirror"
            try:
                problem = self.assessor.assess(rec.ckan_id, values)
            except SourceUnavailable:
                raise
            except Exception as exc:  # one bad resource must not stop the others
                stage, problem = "resource", f"{type(exc).__name__}: {exc}"
                values["mirror_error"] = problem[:500]
            # only data files matter to the volume; a refused address matters whatever the format
            if mirror.is_repeat(problem):  # its host was recorded unreachable once: not again per file
                continue
            if problem and (
                values["format"] in volume.COUNTABLE
                or mirror.is_skipped(problem)
                or mirror.UNREACHABLE in problem
            ):
                problems.append((values["ckan_id"], stage, problem))
        mark_duplicates(resources)
        hold, verdict = None, None
        if grade.publishable:  # personal data holds it back (sync/screen.py); unchanged: only never scanned
            hold, verdict = self._screen(rec, old, resources)
            if verdict.held:
                grade, unchanged = rules.hold(grade), False
        if unchanged:
            if writer.save_resources(old["id"], resources, old_resources):
                writer.touch(old["id"], utcnow())  # its files changed: its pages must show it
            self.bump(UNCHANGED)
            if verdict is not None:
                self._keep_verdict(old["id"], rec.name, verdict, hold)
        else:
            held = verdict is not None and verdict.held  # its hold row needs the dataset's id now
            outcome, dataset_id = writer.write(
                rec, old, resources, old_resources, utcnow(), grade, at_once=held
            )
            self.bump(outcome)
            if verdict is not None:
                self._keep_verdict(dataset_id, rec.name, verdict, hold)
            if outcome == WITHDRAWN_NOW:
                self.withdrawals.append((dataset_id, rec.name, grade))
                audit_log.record(
                    db.session,
                    "dataset.withdrawn",
                    object_type="dataset",
                    object_id=rec.name,
                    before={"state": PUBLISHED, "data_level": old["data_level"]},
                    after={"state": WITHDRAWN, "reason": grade.withheld_as, "data_level": grade.level,
                           "data_level_sent": rec.data_level, "sync_run": self.run.id},
                )  # fmt: skip
        self.counts["relinked"] += identity.record(self.run.id, writer)
        stored = any(
            v["storage_key"] and v["storage_key"] != old_resources.get(v["ckan_id"], {}).get("storage_key")
            for v in resources
        )
        return problems, stored

    def _screen(self, rec, old: dict | None, resources: list[dict]):
        """Return the dataset's hold (or None) and whether its data holds it back now."""
        hold = self.writer.hold(old["id"]) if old is not None else None
        store = self.store.open if self.store is not None else None
        verdict = screen.judge(
            hold,
            screen.fingerprint(rec.metadata_modified, resources),
            lambda: screen.scan(resources, source=self.source, open_stored=store),
        )
        return hold, verdict

    def _keep_verdict(self, dataset_id, name: str, verdict: screen.Verdict, hold) -> None:
        """Record the hold (or its end) beside the dataset, count it and note it on the run.

        `hold` may be the row read ahead: a change to it is made on its ORM object."""
        if verdict.held:
            self.bump("held")
        if hold is not None and verdict.scan is not None and not isinstance(hold, PersonalDataHold):
            hold = db.session.get(PersonalDataHold, dataset_id)
        changed = screen.record(
            dataset_id,
            name,
            verdict,
            hold,
            run_id=self.run.id,
            now=utcnow(),
            hold_back=self.writer.clear_hold,
        )
        if changed == HELD:
            self.newly_held.append(name)
            for line in screen.summary(db.session.get(PersonalDataHold, dataset_id))[:20]:
                resource, _, what = line.partition(": ")
                self._note(name, "personal", f"held for review (待脱敏审核): {what}", resource=resource)
        elif changed is not None:
            self._note(name, "personal", "personal data gone: the hold is lifted and the dataset published")

    def _note(self, package: str, stage: str, message: str, *, resource: str = "") -> None:
        """Add a line to the run's list (a fault, or what is not one), in the current transaction."""
        db.session.add(
            SyncError(
                run=self.run,
                package=package[:200],
                resource=resource[:200],
                stage=stage,
                message=message[:1000],
            )
        )

    def _load_rows(self, resource_ids: list[str]) -> list[tuple[str, str, str]]:
        """Bring the row store's copies of these resources up to date (each only when it changed)."""
        problems = []
        found = db.session.scalars(  # a withdrawn dataset's rows are never loaded (rows/retire.py)
            select(Resource)
            .join(Resource.dataset)
            .where(Resource.ckan_id.in_(resource_ids), retire.keeps_rows())
        ).all()
        for resource in found:
            try:
                loader.load(
                    db.session,
                    resource,
                    source=self.source,
                    open_stored=self.store.open if self.store is not None else None,
                    commit=self._heartbeat_commit,
                )
            except (loader.LoadFailed, SourceUnavailable) as exc:
                db.session.rollback()
                problems.append((resource.ckan_id, "rows", str(exc)))
        return problems

    def _heartbeat_commit(self) -> None:
        """Commit a batch of rows; beat the lock while a long table loads."""
        self.commit()
        self._heartbeat()

    def _catch_up(self, writer: Writer) -> None:
        """Read what a name's change of hands left behind: renamed packages the run did not meet,
        and records withdrawn for a clash that this run no longer saw (one may be gone now)."""
        for ckan_id, pkg in list(self.referee.later.items()):
            if ckan_id not in self.seen_ids:
                self._take(writer, pkg)
        clashed = db.session.scalars(
            select(Dataset).where(
                Dataset.state == WITHDRAWN, Dataset.withdrawn_reason == identity.CLASH_REASON
            )
        ).all()
        for dataset in clashed:
            if dataset.ckan_id in self.seen_ids or dataset.name in self.referee.clashes:
                continue
            try:
                pkg = self.source.show(dataset.ckan_id)
            except PackageGone as exc:
                pkg, reason = None, "deleted_or_private" if exc.hidden else "deleted"
            else:
                reason = "deleted" if pkg.get("state") == "deleted" else "deleted_or_private"
            if identity.is_public(pkg):
                self._take(writer, pkg)
            else:  # gone as well: an ordinary withdrawal from now on, no longer asked about
                dataset.withdrawn_reason = reason
                self.commit()

    def _reconcile(self, writer: Writer) -> None:
        """Withdraw what CKAN no longer publishes; read what the search missed."""
        listed = self.source.package_names()
        published = db.session.execute(  # held datasets too: a hold must not outlive its package
            select(Dataset.id, Dataset.ckan_id, Dataset.name, Dataset.state).where(
                (Dataset.state == PUBLISHED) | (Dataset.withdrawn_reason == rules.WITHHELD_PERSONAL)
            )
        ).all()
        for dataset_id, ckan_id, name, state in published:
            if ckan_id in self.seen_ids:
                continue
            if name in listed:  # public, but the search did not return it: read it directly
                try:
                    self._take(writer, self.source.show(name))
                except PackageGone:
                    self._error(name, "read", "listed by package_list, but package_show says it is gone")
                continue
            # each its own time: the catalogue's generation must move with every change (catalogue/changes.py)
            withdraw(db.session.get(Dataset, dataset_id), self._why_gone(name), utcnow())
            if state == PUBLISHED:
                self.bump("withdrawn")
            self.commit()
            self._heartbeat()

    def _purge_withheld(self) -> None:
        """Delete from storage the mirrored files of datasets withheld by their data level.

        Their state is committed first, so a file that cannot be deleted never leaves its dataset
        public: it keeps its storage key, is noted on the run, and every later run tries again."""
        held = db.session.scalars(
            select(Resource)
            .join(Resource.dataset)
            .where(
                Dataset.state == WITHDRAWN,
                Dataset.withdrawn_reason.in_(rules.GRADE_REASONS),
                Resource.storage_key.is_not(None),
            )
            .order_by(Resource.id)
        ).all()
        for resource in held:
            if self.store is None:
                self._error(
                    resource.dataset.name,
                    "withdraw",
                    "no storage to delete the file from",
                    fault=False,
                    resource=resource.ckan_id,
                )
                continue
            try:
                self.store.delete(resource.storage_key)
            except storage.ObjectNotFound:
                pass
            except Exception as exc:  # kept for the next run
                db.session.rollback()
                self._error(
                    resource.dataset.name,
                    "withdraw",
                    f"file not deleted, retried next run: {type(exc).__name__}: {exc}",
                    fault=False,
                    resource=resource.ckan_id,
                )
                continue
            self.deleted_files.append((resource.dataset_id, resource.storage_key))
            audit_log.record(
                db.session,
                "dataset.file_deleted",
                object_type="resource",
                object_id=resource.ckan_id,
                before={"storage_key": resource.storage_key, "dataset": resource.dataset.name},
                after={"storage_key": None, "reason": resource.dataset.withdrawn_reason, "run": self.run.id},
            )
            resource.storage_key, resource.mirrored_at = None, None
            self.commit()
            self._heartbeat()

    def _drop_retired_rows(self) -> None:
        """Drop the row tables of resources withdrawn (by this run or before: a table that could
        not be dropped is noted on the run and tried again by the next one)."""
        for retired in retire.drop_retired(db.session, commit=self.commit, run_id=self.run.id):
            if retired.error:
                message = f"rows not dropped, retried next run: {retired.error}"
                self._error(retired.dataset, "rows", message, fault=False, resource=retired.resource)
            self._heartbeat()

    def _tell_office(self) -> None:
        """Tell the office of the datasets held this run; a message that cannot be sent is only noted."""
        try:
            screen.tell_office(self.newly_held, now=utcnow())
        except Exception as exc:  # the holds stand whatever the mail does
            db.session.rollback()
            self._error("", "notify", f"the office was not told: {type(exc).__name__}: {exc}", fault=False)

    def _why_gone(self, name: str) -> str:
        """CKAN answers 404 for a purged dataset, and 403 alike for deleted and private ones."""
        try:
            self.source.show(name)
        except PackageGone as exc:
            return "deleted_or_private" if exc.hidden else "deleted"
        return "deleted"

    def _error(
        self,
        package: str,
        stage: str,
        message: str,
        *,
        resource: str = "",
        fault: bool = True,
        commit: bool = True,
    ) -> None:
        """Record a fault, committed now unless `commit` is False (then with the batch, whose replay
        records it again). A failed dataset keeps the watermark; a failed resource, or what is not
        a `fault` (an unknown data level), is only noted (its dataset was written, and the next
        --full run tries the file again)."""
        if not resource and fault:
            self.bump("failed")
        self._note(package, stage, message, resource=resource)
        if commit:
            self.commit()

    def _heartbeat(self) -> None:
        if time.monotonic() - self.last_beat >= HEARTBEAT_EVERY:
            self._flush()  # the batch so far, committed with the beat
            lock.beat(self.run.id)
            self.commit()
            self.last_beat = time.monotonic()

    def finish(self, status: str, message: str) -> None:
        self.run.status, self.run.message = status, message[:2000]
        self.run.finished_at = utcnow()
        self.commit()


def _batches(items: Iterator, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _read_ahead(source, batches: Iterator[list]) -> Iterator[tuple[list, dict, dict]]:
    """Yield each batch of package dicts with its DataStore shapes and samples; the next batch is read
    (its page of packages, its DataStore calls) in a thread while the caller writes this one."""

    def read():
        batch = next(batches, None)
        if batch is None:
            return None
        return batch, *source.read_datastore(_datastore_ids(batch), sample=screen.SAMPLE_ROWS)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead")
    try:
        upcoming = pool.submit(read)
        while (got := upcoming.result()) is not None:
            upcoming = pool.submit(read)
            yield got
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _datastore_ids(batch: list) -> list[str]:
    """The DataStore resources of a batch of package dicts (shape checks come later)."""
    ids = []
    for pkg in batch:
        resources = pkg.get("resources") if isinstance(pkg, dict) else None
        for r in resources if isinstance(resources, list) else []:
            if isinstance(r, dict) and r.get("datastore_active") is True and isinstance(r.get("id"), str):
                ids.append(r["id"])
    return ids
