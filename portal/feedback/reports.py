"""Error reports (数据纠错): filing one, answering it, and when its reply is due.

A signed-in user reports a problem with a published dataset or one of its resources. The report is new, is
acknowledged, and ends fixed or rejected, each answer with a reply shown publicly on the dataset's report
page (the reporter anonymised). A reply is due by the end of the Nth working day (Monday to Friday, the
city's days) after the report, N being the REPORT_REPLY_WORKING_DAYS setting; a report not answered by
then is overdue. A report that personal data is exposed withholds the dataset's previews at once
(`catalogue/holds.py`) until it is fixed or rejected.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from portal import clock
from portal.accounts.models import User
from portal.catalogue import holds
from portal.catalogue.models import Dataset, Resource
from portal.extensions import db
from portal.feedback.models import ACKNOWLEDGED, FIXED, KINDS, NEW, REJECTED, ErrorReport
from portal.refusals import Refusal

TEXT_MAX = 2000
REPLY_MAX = 2000
PERSONAL_DATA = "personal_data"
SCREENSHOT_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class ReportError(Refusal):
    """A report or an answer the rules refuse; nothing was changed."""


def due_day(day: date, working_days: int) -> date:
    """Return the Nth working day (Monday to Friday) after `day`."""
    left = max(working_days, 0)
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def due_moment(filed: datetime, working_days: int) -> datetime:
    """Return the end of the reply's due day in the city's time, as a UTC moment."""
    return clock.day_start(due_day(clock.day_of(filed), working_days) + timedelta(days=1))


def is_overdue(report: ErrorReport, now: datetime) -> bool:
    """Overdue: no reply by its due moment (answered late still counts as overdue)."""
    replied = report.replied_at
    return (replied or now) > report.due_at


def screenshot_type(head: bytes) -> str | None:
    """Return the content type of a PNG or JPEG image from its first bytes, else None."""
    for magic, content_type in SCREENSHOT_TYPES.items():
        if head.startswith(magic):
            return content_type
    return None


def file_report(
    dataset: Dataset,
    *,
    by: User,
    kind: str,
    text: str,
    now: datetime,
    working_days: int,
    resource: Resource | None = None,
    screenshot: BinaryIO | None = None,
    screenshot_max: int = 0,
    storage=None,
) -> ErrorReport:
    """File a report; withhold previews at once for exposed personal data; flush and return it."""
    text = (text or "").strip()
    if kind not in KINDS:
        raise ReportError(_l("Choose what kind of problem this is."), fields={"kind": _l("Choose a kind.")})
    if not text:
        raise ReportError(_l("Describe the problem."), fields={"text": _l("Describe the problem.")})
    if len(text) > TEXT_MAX:
        raise ReportError(_l("The description is too long."), fields={"text": _l("At most 2000 characters.")})
    if resource is not None and resource.dataset_id != dataset.id:
        raise ReportError(_l("That resource is not part of this dataset."))
    if not dataset.is_published:
        raise ReportError(_l("This dataset is not published."))
    report = ErrorReport(
        dataset=dataset,
        resource=resource,
        reporter_id=by.id,
        kind=kind,
        text=text,
        state=NEW,
        created_at=now,
        due_at=due_moment(now, working_days),
        reply="",
    )
    db.session.add(report)
    db.session.flush()
    if screenshot is not None:
        report.screenshot_key = _store_screenshot(report, screenshot, screenshot_max, storage)
    if kind == PERSONAL_DATA:
        holds.hold(dataset.id, reason=PERSONAL_DATA, now=now)
    db.session.flush()
    return report


def _store_screenshot(report: ErrorReport, screenshot: BinaryIO, limit: int, storage) -> str:
    data = screenshot.read(limit + 1)
    if len(data) > limit:
        raise ReportError(
            _l("The screenshot is too large."), fields={"screenshot": _l("The screenshot is too large.")}
        )
    content_type = screenshot_type(data[:8])
    if content_type is None:
        raise ReportError(
            _l("A screenshot must be a PNG or JPEG image."), fields={"screenshot": _l("PNG or JPEG only.")}
        )
    key = f"reports/{report.id}/screenshot.{'png' if content_type == 'image/png' else 'jpg'}"
    import io

    storage.put(key, io.BytesIO(data), content_type=content_type, max_size=limit)
    return key


def acknowledge(report: ErrorReport, *, by: User, reply: str, now: datetime) -> ErrorReport:
    """Say the report was received and is being looked at; the first reply stops the clock."""
    if report.state != NEW:
        raise ReportError(_l("Only a new report can be acknowledged."))
    _answer(report, ACKNOWLEDGED, by=by, reply=reply, now=now, required=False)
    return report


def fix(report: ErrorReport, *, by: User, reply: str, now: datetime) -> ErrorReport:
    """Close the report as fixed, with a reply saying what changed."""
    return _close(report, FIXED, by=by, reply=reply, now=now)


def reject(report: ErrorReport, *, by: User, reply: str, now: datetime) -> ErrorReport:
    """Close the report as rejected, with a reply saying why."""
    return _close(report, REJECTED, by=by, reply=reply, now=now)


def _close(report: ErrorReport, state: str, *, by: User, reply: str, now: datetime) -> ErrorReport:
    if not report.is_open:
        raise ReportError(_l("This report is already closed."))
    _answer(report, state, by=by, reply=reply, now=now, required=True)
    report.closed_at = now
    if report.kind == PERSONAL_DATA and not _open_personal_reports(report.dataset_id, besides=report.id):
        holds.release(report.dataset_id)
    db.session.flush()
    return report


def _answer(report: ErrorReport, state: str, *, by: User, reply: str, now: datetime, required: bool) -> None:
    reply = (reply or "").strip()
    if required and not reply:
        raise ReportError(_l("Write a reply."), fields={"reply": _l("Write a reply.")})
    if len(reply) > REPLY_MAX:
        raise ReportError(_l("The reply is too long."), fields={"reply": _l("At most 2000 characters.")})
    report.state = state
    if reply:
        report.reply = reply
    report.answered_by_id = by.id
    if report.replied_at is None:
        report.replied_at = now
    db.session.flush()


def _open_personal_reports(dataset_id: int, *, besides: int) -> bool:
    from sqlalchemy import select

    return (
        db.session.scalar(
            select(ErrorReport.id)
            .where(
                ErrorReport.dataset_id == dataset_id,
                ErrorReport.kind == PERSONAL_DATA,
                ErrorReport.state.in_((NEW, ACKNOWLEDGED)),
                ErrorReport.id != besides,
            )
            .limit(1)
        )
        is not None
    )
