"""Telling people about error reports: one `notify` call per event, by email (`portal/mail.py`).

Events: a report filed (to those who answer it), a report answered (to its reporter), a data request
answered (to its requester and voters). Each sends one
message per reader through a background job, in the reader's language (`mailing.reader_locale`).
"""

from __future__ import annotations

from collections.abc import Iterable

from portal import mail
from portal.accounts import mailing
from portal.accounts.models import User
from portal.feedback.models import DataRequest, ErrorReport

REPORT_FILED = "report_filed"
REPORT_ANSWERED = "report_answered"
REQUEST_ANSWERED = "request_answered"
KINDS = (REPORT_FILED, REPORT_ANSWERED, REQUEST_ANSWERED)


def notify(
    users: Iterable[User],
    kind: str,
    *,
    link: str,
    report: ErrorReport | None = None,
    request: DataRequest | None = None,
    locale: str | None = None,
) -> int:
    """Send the `kind` message about `report` or `request` to each user; return how many were queued."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if report is not None:
        context = {
            "dataset": report.dataset.title,
            "state": report.state,
            "reply": report.reply,
            "link": link,
        }
    else:
        context = {"title": request.title, "state": request.status, "reply": request.answer, "link": link}
    if kind in mailing.KINDS:  # answers to a reader, who may have opted out of the kind (accounts/mailing.py)
        return mailing.email(users, kind, context, locale=locale)
    count = 0
    for user in users:
        mail.send_later(
            user.email, kind, {**context, "name": user.display_name}, locale or mailing.reader_locale(user)
        )
        count += 1
    return count
