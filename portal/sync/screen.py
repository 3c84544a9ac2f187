"""Hold back datasets with unmasked personal data at sync (待脱敏审核), and release them.

At each sync where a dataset changed, its tabular resources are sampled, a bounded number of rows each:
the DataStore table (fields and the first SAMPLE_ROWS records, one call) and the mirrored (or, from a
dump, local) CSV, XLSX or JSON file, read as a stream by the preview's reader. The sample goes through
the masking rules (catalogue/screening.py). A dataset with a finding is held: the sync writes it withdrawn
with the reason `personal_data` (catalogue/rules.py), so it is nowhere public, and a `PersonalDataHold`
row says what was found, with masked samples only.

The safe default: a copy that cannot be read, or a sample that cannot be parsed, holds the dataset too
(a problem, recorded on the run), and such a hold is scanned again by every run, since the cause may
pass. A resource with neither a DataStore table nor a copy (mirroring off, or its download failed, which
the run already records) has nothing to scan and holds nothing.

What was scanned is a fingerprint of CKAN's data (metadata_modified and each resource's file identity),
kept for every dataset whose scan read a table: a dataset is scanned again only when it changes. A clean
scan that read nothing is not kept (scanning it again reads nothing either), which spares most datasets
a row. A published dataset that
was never scanned (published before this rule) is scanned by the next full run. The office is told of the
datasets a run holds (in the site and by email) and may release one with a reason; it stays published
until the fingerprint changes. A held dataset whose new data is clean is released by the sync itself.
Every hold, release and clearance is audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

import ckanapi
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm import contains_eager, selectinload

from portal import storage
from portal.accounts import mailing
from portal.accounts.models import ADMIN, User
from portal.audit import log as audit_log
from portal.catalogue import changes, preview, rules, screening
from portal.catalogue.models import PUBLISHED, WITHDRAWN, Dataset
from portal.extensions import db
from portal.notices import inbox
from portal.refusals import Refusal
from portal.sync.models import CLEAR, HELD, RELEASED, PersonalDataHold
from portal.sync.remote import SourceUnavailable

SAMPLE_ROWS = 200  # rows sampled per table: enough to see a personal column, bounded per resource
SCANNED = frozenset(preview.PREVIEWABLE)  # file formats read: CSV, XLSX, JSON
REASON_MAX = 1000
SHOWN_IN_MESSAGE = 20  # dataset names listed in the office's message; the page lists them all


class NotHeld(Refusal):
    """The dataset is not held for personal data (released already, or withdrawn for another reason)."""


class ReasonRequired(Refusal):
    """A release needs a reason."""


@dataclass
class Scan:
    """What the sample of a dataset's resources showed."""

    findings: list[dict] = field(default_factory=list)  # screening.Finding with resource id and name
    problems: list[dict] = field(default_factory=list)  # {"resource", "resource_name", "message"}
    read: int = 0  # tables sampled (DataStore tables and files)

    @property
    def clean(self) -> bool:
        return not self.findings and not self.problems


@dataclass
class Verdict:
    """Whether to hold a dataset, and the scan that says so (None when its fingerprint was seen)."""

    held: bool
    fingerprint: str
    scan: Scan | None = None


def fingerprint(metadata_modified: datetime | None, resources: list[dict]) -> str:
    """Return a digest of the CKAN data a scan reads: a change in any part means scanning again."""
    parts = [metadata_modified.isoformat() if metadata_modified else ""]
    for values in sorted(resources, key=_by_ckan_id):
        when, get = values.get("ckan_last_modified"), values.get
        parts.append(  # each part as str() gives it, in one f-string (the sync's hot path)
            f"{values['ckan_id']}|{get('sha256') or ''}|{when.isoformat() if when else ''}|"
            f"{get('size') or ''}|{get('url') or ''}|{get('datastore_active')}"
        )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


_by_ckan_id = itemgetter("ckan_id")


def judge(hold: PersonalDataHold | None, print_: str, scan: Callable[[], Scan]) -> Verdict:
    """Decide whether a dataset is held: as before while its data is the same (and was readable),
    else by a new scan."""
    if hold is not None and hold.fingerprint == print_ and not hold.problems:
        return Verdict(hold.status == HELD, print_)
    result = scan()
    return Verdict(not result.clean, print_, result)


def scan(
    resources: list[dict],
    *,
    source: Any,
    open_stored: Callable[[str], BinaryIO] | None,
    limit: int = SAMPLE_ROWS,
) -> Scan:
    """Sample each active resource (DataStore table and file copy) and look for personal data.

    Raises SourceUnavailable when CKAN cannot be reached (the run stops, nothing is written)."""
    result = Scan()
    for values in resources:
        if values.get("state", "active") != "active":
            continue
        for read in (_datastore_sample, _file_sample):
            label = {"resource": values["ckan_id"], "resource_name": values.get("name") or ""}
            try:
                table = read(values, source, open_stored, limit)
            except SourceUnavailable:
                raise
            except Exception as exc:  # unreadable: held, never published unread
                result.problems.append({**label, "message": _problem(exc)[:500].replace("\x00", "")})
                continue
            if table is not None:
                result.read += 1
                header, rows = table
                result.findings += [
                    {**label, **finding.as_dict()} for finding in screening.find_personal_data(header, rows)
                ]
    return result


def _datastore_sample(values: dict, source: Any, open_stored, limit: int):
    if not values.get("datastore_active"):
        return None
    try:
        sample = source.datastore_sample(values["ckan_id"], limit)
    except ckanapi.CKANAPIError as exc:
        raise ValueError(f"DataStore sample not read: {type(exc).__name__}") from exc
    if sample is None:
        return None
    names, records = sample
    if any(not isinstance(r, dict) for r in records):
        raise ValueError("DataStore sample not read: records are not objects")
    return names, list(screening.as_rows(names, records))


def _file_sample(values: dict, source: Any, open_stored, limit: int):
    if (values.get("format") or "").upper() not in SCANNED:
        return None
    opener: Callable[[], BinaryIO] | None = None
    if values.get("storage_key") and values.get("mirrored_at") is not None and open_stored is not None:
        key = values["storage_key"]

        def opener() -> BinaryIO:
            return open_stored(key)

    else:
        local: Path | None = source.local_file(values.get("url") or "")
        if local is not None and local.is_file():

            def opener() -> BinaryIO:
                return local.open("rb")

    if opener is None:
        return None
    header, rows, _more = preview.read_table(opener, values["format"], limit=limit)
    return header, rows


def _problem(exc: Exception) -> str:
    if isinstance(exc, preview.PreviewUnavailable):
        return f"file not readable as a table ({exc.reason})"
    if isinstance(exc, storage.ObjectNotFound):
        return "the mirrored copy is missing from storage"
    if isinstance(exc, ValueError) and str(exc).startswith("DataStore"):
        return str(exc)
    return f"sample not read: {type(exc).__name__}: {str(exc)[:200]}"


def record(
    dataset_id: Any,
    name: str,
    verdict: Verdict,
    hold: PersonalDataHold | None,
    *,
    run_id: int,
    now: datetime,
    hold_back: Callable[[dict], None] | None = None,
) -> str | None:
    """Keep what a verdict found beside the written dataset; add and flush, never commit.

    The common case, a first scan that is clean, is one row: given to `hold_back` when given (the
    sync's writer inserts a batch of them at once; `dataset_id` may then be the writer's `New`),
    else inserted now. Any other case needs the dataset's id and the hold's ORM object.

    Returns what changed: "held" (newly, or on new findings), "cleared" (a hold or release ended by
    clean data) or None (nothing the office needs to know: a clean scan, or the same findings again)."""
    if verdict.scan is None:
        return None
    if hold is None and not verdict.held:  # the common case, kept in one statement (or none)
        if verdict.scan.read:
            row = {"dataset_id": dataset_id, "status": CLEAR, "fingerprint": verdict.fingerprint,
                   "findings": [], "problems": [], "held_at": now, "run_id": run_id}  # fmt: skip
            if hold_back is not None:
                hold_back(row)
            else:
                db.session.execute(insert(PersonalDataHold), row)
        return None
    found, problems = verdict.scan.findings, verdict.scan.problems
    before = {"status": hold.status, "found": summary(hold)} if hold is not None else None
    if hold is None:
        hold = PersonalDataHold(dataset_id=dataset_id, status=CLEAR)
        db.session.add(hold)
    if verdict.held:
        if (hold.status, hold.fingerprint, hold.findings, hold.problems) == (
            HELD,
            verdict.fingerprint,
            found,
            problems,
        ):
            return None  # an unreadable sample read again, and still unreadable: nothing new
        change, action = HELD, "dataset.held"
        hold.released_at = hold.released_by_id = hold.release_reason = None
    else:
        change, action = (None, None) if hold.status == CLEAR else ("cleared", "dataset.hold_cleared")
    hold.status = HELD if verdict.held else CLEAR
    hold.fingerprint, hold.findings, hold.problems = verdict.fingerprint, found, problems
    hold.held_at, hold.run_id = now, run_id
    if action is not None:
        after = {"status": hold.status, "found": summary(hold), "sync_run": run_id}
        if verdict.held:
            after["reason"] = rules.WITHHELD_PERSONAL
        audit_log.record(
            db.session, action, object_type="dataset", object_id=name, before=before, after=after
        )
    db.session.flush()
    return change


def summary(hold: PersonalDataHold) -> list[str]:
    """One line per finding or problem (resource: column rule), for the audit log and the run."""
    lines = [f"{f['resource']}: {f['column']} {f['rule']}" for f in hold.findings or []]
    return lines + [f"{p['resource']}: {p['message']}" for p in hold.problems or []]


def tell_office(names: list[str], *, now: datetime) -> int:
    """Tell the office (in the site and by email) which datasets a run newly held; return how many were told.

    Queueing the email commits the session: call it last."""
    admins = db.session.scalars(select(User).where(User.role == ADMIN, User.active.is_(True))).all()
    if not names or not admins:
        return 0
    listed = "\n".join(names[:SHOWN_IN_MESSAGE]) + ("\n…" if len(names) > SHOWN_IN_MESSAGE else "")
    inbox.deliver([a.id for a in admins], mailing.DATASETS_HELD, now=now, reason=listed)
    db.session.commit()
    context = {"count": len(names), "reason": listed, "link": mailing.link("sync.holds")}
    mailing.email(admins, mailing.DATASETS_HELD, context)
    return len(admins)


def release(dataset: Dataset, *, by: Any, reason: str, now: datetime, client: str = "") -> None:
    """Publish a held dataset on the office's word, until CKAN's data changes; add and flush.

    Raises NotHeld or ReasonRequired."""
    hold = db.session.get(PersonalDataHold, dataset.id)
    if hold is None or hold.status != HELD or dataset.withdrawn_reason != rules.WITHHELD_PERSONAL:
        raise NotHeld(_l("This dataset is not held for personal data."))
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(_l("Give the reason for releasing the dataset."), {"reason": _l("Required.")})
    if len(reason) > REASON_MAX:
        raise ReasonRequired(_l("The reason is too long (at most %(n)d characters).", n=REASON_MAX))
    if "\x00" in reason:  # PostgreSQL keeps no NUL in text or JSON
        raise ReasonRequired(
            _l("The reason holds a character that cannot be kept."), {"reason": _l("Required.")}
        )
    before = {"state": dataset.state, "reason": dataset.withdrawn_reason, "found": summary(hold)}
    dataset.state, dataset.withdrawn_reason, dataset.withdrawn_at = PUBLISHED, None, None
    changes.mark(dataset, now)  # the catalogue changed: cached pages must see it
    hold.status, hold.released_at, hold.released_by_id = RELEASED, now, by.id
    hold.release_reason = reason
    audit_log.record(
        db.session,
        "dataset.hold_released",
        actor=by,
        object_type="dataset",
        object_id=dataset.name,
        before=before,
        after={"state": PUBLISHED, "reason": hold.release_reason},
        client=client,
    )
    db.session.flush()


def held_datasets():
    """Select the holds of the datasets held for personal data (with `hold.dataset`), the newest first."""
    return (
        select(PersonalDataHold)
        .join(Dataset, Dataset.id == PersonalDataHold.dataset_id)
        .where(
            PersonalDataHold.status == HELD,
            Dataset.state == WITHDRAWN,
            Dataset.withdrawn_reason == rules.WITHHELD_PERSONAL,
        )
        .options(contains_eager(PersonalDataHold.dataset))
        .order_by(PersonalDataHold.held_at.desc(), PersonalDataHold.dataset_id)
    )


def released_datasets():
    """Select the holds of the datasets the office released that are still as released, newest first."""
    return (
        select(PersonalDataHold)
        .join(Dataset, Dataset.id == PersonalDataHold.dataset_id)
        .where(PersonalDataHold.status == RELEASED, rules.published())
        .options(contains_eager(PersonalDataHold.dataset), selectinload(PersonalDataHold.released_by))
        .order_by(PersonalDataHold.released_at.desc(), PersonalDataHold.dataset_id)
    )
