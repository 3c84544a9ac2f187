"""Telling people about error reports and data requests, in the site and by email (`accounts/mailing.py`).

Filed (`report_filed`, `request_filed`): the deciders (the office and the data owners of the department
concerned, never whoever filed it) get a notice in the site and an email. Answered (`notify`): the reporter,
or the requester and voters, get a notice in the site (linking to the public replies or the request) and an
email. Each message is written in the reader's language and sent by a background job; a reader may opt out
of any kind by email, never of the notice in the site.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from portal import clock
from portal.accounts import mailing
from portal.accounts.models import User
from portal.catalogue import owners
from portal.feedback import permissions
from portal.feedback.models import DataRequest, ErrorReport
from portal.notices import inbox

REPORT_FILED = mailing.REPORT_FILED
REPORT_ANSWERED = mailing.REPORT_ANSWERED
REQUEST_ANSWERED = mailing.REQUEST_ANSWERED
KINDS = (REPORT_ANSWERED, REQUEST_ANSWERED)


def notify(
    users: Iterable[User],
    kind: str,
    *,
    link: str,
    report: ErrorReport | None = None,
    request: DataRequest | None = None,
    locale: str | None = None,
    now: datetime | None = None,
) -> int:
    """Tell each active user of the `kind` answer about `report` or `request`: a notice in the site, and an
    email unless they opted out of the kind; return how many emails were queued (queueing commits)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    users = [user for user in users if user.active]
    subject = {"error_report": report} if report is not None else {"data_request": request}
    inbox.deliver([user.id for user in users], kind, now=now or clock.now(), **subject)
    if report is not None:
        context = {
            "dataset": report.dataset.title,
            "state": report.state,
            "reply": report.reply,
            "link": link,
        }
    else:
        context = {"title": request.title, "state": request.status, "reply": request.answer, "link": link}
    return mailing.email(users, kind, context, locale=locale)


def report_filed(report: ErrorReport, *, now: datetime) -> int:
    """Tell the report's deciders of it (its reporter aside); return how many emails were queued.

    Queueing commits the session: call it once the report is committed.
    """
    context = {"dataset": report.dataset.title, "link": mailing.link("feedback.desk")}
    return mailing.tell(permissions.answerers(report), REPORT_FILED, context, now=now, error_report=report)


def request_filed(request: DataRequest, *, now: datetime) -> int:
    """Tell the office and the named department's owners of a new data request (its requester aside)."""
    context = {
        "title": request.title,
        "link": mailing.link("feedback.request_detail", request_id=request.id),
    }
    deciders = owners.deciders(request.department_id, besides=request.requester_id)
    return mailing.tell(deciders, mailing.DATA_REQUESTED, context, now=now, data_request=request)
