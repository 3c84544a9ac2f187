"""Teams' entries: one per track in a round's submission window, editable until it closes, then locked.

These functions add and flush; the caller commits. Attachments go to the storage passed in; only their key,
size, sha256 and content type are kept in the database.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import filetypes
from portal.accounts.models import User
from portal.catalogue import rules, search
from portal.catalogue.models import Dataset
from portal.contest import permissions, results, setup, windows
from portal.contest.models import Entry, EntryFile, Round, Team, Track
from portal.extensions import db
from portal.refusals import Refusal
from portal.storage import ObjectTooLarge, Storage

MB = 1024 * 1024
DEFAULT_MAX_SIZES = {
    "pdf": 20 * MB,
    "pptx": 50 * MB,
    "docx": 20 * MB,
    "xlsx": 20 * MB,
    "zip": 50 * MB,
    "mp4": 60 * MB,
    "png": 10 * MB,
    "jpg": 10 * MB,
    "webp": 10 * MB,
}
MAX_FILES = 10
MAX_IMAGE_PIXELS = 25_000_000  # decoding holds the whole image in memory
_KINDS = {  # kind → content type; each kind's content is parsed by `_looks_right`
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
    "mp4": "video/mp4",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
}
_IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}  # kind → Pillow's format
_ALIASES = {"jpeg": "jpg"}
_CHUNK = 1024 * 1024
_SPOOL_IN_MEMORY = 4 * MB  # larger uploads are checked from a temporary file


class SubmissionError(Refusal):
    """An entry or attachment was refused; the message is shown to the team, beside `field` when named."""

    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(message, {field: message} if field else None)


@dataclass(frozen=True)
class EntryDraft:
    title: str
    abstract: str
    demo_url: str
    dataset_ids: list[int]


def submit_entry(
    team: Team, round_: Round, track: Track, draft: EntryDraft, *, by: User, now: datetime
) -> Entry:
    """Create the team's entry in `track`, or update it, while the submission window is open."""
    if not permissions.can_edit_entry(by, team):
        raise SubmissionError(_l("Only the team's captain submits its entries."))
    if track.contest_id != round_.contest_id or team.contest_id != round_.contest_id:
        raise SubmissionError(_l("The track, round and team belong to different contests."))
    _check_open(round_, now)
    found = draft_problems(draft)
    if found:
        field, message = next(iter(found.items()))
        raise SubmissionError(message, field)
    entry = entry_of(team, round_, track)
    if entry is None:
        problem = entry_problem(team, round_, track)
        if problem:
            raise SubmissionError(problem)
        entry = Entry(round=round_, track=track, team=team, submitted_at=now)
        db.session.add(entry)
    entry.title, entry.abstract = draft.title.strip(), draft.abstract.strip()
    entry.demo_url, entry.updated_at = draft.demo_url.strip(), now
    entry.datasets = _datasets(draft.dataset_ids)
    db.session.flush()
    return entry


def entry_problem(team: Team, round_: Round, track: Track) -> str | None:
    """Return why the team may not enter this round's track, or None.

    In a round after the first, only teams whose entry in the same track advanced from the previous
    round, once that round is final, may enter.
    """
    previous = setup.previous_round(round_)
    if previous is None:
        return None
    if not previous.is_final:
        return _l("The previous round's results are not final yet.")
    if not results.has_advanced(team, track, previous):
        return _l("Only teams that advanced in this track from %(round)s may enter.", round=previous.name)
    return None


def add_attachment(
    entry: Entry,
    *,
    filename: str,
    stream: BinaryIO,
    by: User,
    now: datetime,
    store: Storage,
    max_sizes: dict[str, int],
) -> EntryFile:
    """Store an attachment up to its kind's size limit once its content parses as that kind.

    The kind comes from the extension of the cleaned name; the content must then parse as a file of that
    kind (`_check_content`). Refuse other files, too large ones and a closed window.
    """
    _check_editable(entry, by, now)
    if len(entry.files) >= MAX_FILES:
        raise SubmissionError(_l("An entry has at most %(n)d attachments.", n=MAX_FILES))
    name = filetypes.clean_name(filename)
    kind = _kind_of(name)
    limit = max_sizes.get(kind, DEFAULT_MAX_SIZES[kind])
    key = f"contest/entries/{entry.id}/{uuid.uuid4().hex}.{kind}"
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        if not _copy(stream, spool, limit):
            raise SubmissionError(_too_large(kind, limit))
        _check_content(kind, spool, name)
        spool.seek(0)
        try:
            stored = store.put(key, spool, content_type=_KINDS[kind], max_size=limit)
        except ObjectTooLarge as exc:
            raise SubmissionError(_too_large(kind, limit)) from exc
    attachment = EntryFile(
        storage_key=key,
        filename=name,
        kind=kind,
        size=stored.size,
        sha256=stored.sha256,
        content_type=_KINDS[kind],
        uploaded_at=now,
        uploaded_by_id=by.id,
    )
    entry.files.append(attachment)
    entry.updated_at = now
    db.session.flush()
    return attachment


def remove_attachment(attachment: EntryFile, *, by: User, now: datetime, store: Storage) -> None:
    """Delete an attachment while the window is open."""
    entry = attachment.entry
    _check_editable(entry, by, now)
    entry.files.remove(attachment)
    entry.updated_at = now
    db.session.flush()
    store.delete(attachment.storage_key)


def find_datasets(q: str, limit: int = 20) -> list[Dataset]:
    """Return published datasets matching `q`, through the catalogue search when it is installed."""
    q = q.strip()[:100]
    if not q:
        return []
    return list(search.search_datasets(search.SearchQuery(q=q, per_page=limit)).items)


def datasets_by_ids(ids: list[int]) -> list[Dataset]:
    if not ids:
        return []
    return list(db.session.scalars(select(Dataset).where(Dataset.id.in_(ids)).order_by(Dataset.title)))


def entry_of(team: Team, round_: Round, track: Track) -> Entry | None:
    query = select(Entry).where(
        Entry.team_id == team.id, Entry.round_id == round_.id, Entry.track_id == track.id
    )
    return db.session.scalar(query)


def entries_of(team: Team) -> list[Entry]:
    query = select(Entry).where(Entry.team_id == team.id).order_by(Entry.round_id, Entry.track_id)
    return list(db.session.scalars(query))


def _check_editable(entry: Entry, by: User, now: datetime) -> None:
    if not permissions.can_edit_entry(by, entry.team):
        raise SubmissionError(_l("Only the team's captain changes its entries."))
    _check_open(entry.round, now)


def _check_open(round_: Round, now: datetime) -> None:
    if not windows.submission_open(round_, now):
        raise SubmissionError(_l("The submission window of %(round)s is closed.", round=round_.name))


def draft_problems(draft: EntryDraft) -> dict[str, object]:
    """Return every problem of the draft's own fields, keyed by field, so a form shows them together."""
    found: dict[str, object] = {}
    url = draft.demo_url.strip()
    if url and not url.lower().startswith(("http://", "https://")):
        found["demo_url"] = _l("The demo address must start with http:// or https://.")
    if not set(draft.dataset_ids):
        found["dataset_ids"] = _l("Choose at least one catalogue dataset that the entry uses.")
    return found


def _datasets(ids: list[int]) -> list[Dataset]:
    wanted = set(ids)
    found = list(
        db.session.scalars(select(Dataset).where(Dataset.id.in_(wanted), rules.published()))
    )
    if len(found) != len(wanted):
        raise SubmissionError(_l("A chosen dataset is not in the published catalogue."), "dataset_ids")
    return found


def _kind_of(name: str) -> str:
    """Return the attachment's kind from its extension."""
    kind = filetypes.extension(name)
    kind = _ALIASES.get(kind, kind)
    if kind not in _KINDS:
        raise SubmissionError(_l("Attach PDF, PPTX, DOCX, XLSX, ZIP, MP4, PNG, JPEG or WebP files only."))
    return kind


def _check_content(kind: str, file: BinaryIO, name: str) -> None:
    """Raise SubmissionError unless the content parses as a file of `kind`."""
    if kind in _IMAGE_FORMATS:
        parsed = _is_image(kind, file, name)
    elif kind in filetypes.OOXML_MAIN_PARTS:
        parsed = filetypes.is_ooxml(file, kind)
    else:
        parsed = {"pdf": filetypes.is_pdf, "zip": filetypes.is_zip, "mp4": filetypes.is_mp4}[kind](file)
    if not parsed:
        raise SubmissionError(_l("%(name)s is not a real %(kind)s file.", name=name, kind=kind.upper()))


def _is_image(kind: str, file: BinaryIO, name: str) -> bool:
    """Decode the image through Pillow, as application screenshots are checked."""
    file.seek(0)
    try:
        filetypes.check_image(
            file.read(), formats=[_IMAGE_FORMATS[kind]], max_pixels=MAX_IMAGE_PIXELS, decode=True
        )
    except filetypes.TooManyPixels as exc:
        raise SubmissionError(_l("%(name)s has too many pixels.", name=name)) from exc
    except filetypes.NotThisType:
        return False
    return True


def _copy(stream: BinaryIO, out: BinaryIO, limit: int) -> bool:
    """Copy `stream` into `out` in chunks; False as soon as it holds more than `limit` bytes."""
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            return False
        out.write(chunk)
    return True


def _too_large(kind: str, limit: int) -> str:
    return _l("%(kind)s files may be at most %(mb)d MB.", kind=kind.upper(), mb=limit // MB)
