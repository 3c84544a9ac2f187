"""Email for the workflows (issue 17 item 6): one message per reader and kind, unless the reader opted out.

Each workflow that tells someone in the site also calls `email(users, kind, context)`: it renders
`templates/mail/<kind>.<locale>.txt` (Chinese and English) through `portal/mail.py` and sends it by a
background job. A user may opt out of any kind on their account page (`email_opt_outs` rows); the in-site
notification still reaches them. Kinds and who receives them:

- application_returned, application_approved: the county team's active members;
- judge_assigned: a judge given entries to score (once per judge and assignment run);
- results_published: the accepted members of the teams with an entry in the round;
- access_decided: the developer who asked for access to a dataset;
- report_answered, request_answered: the reporter or the requester and voters (the feedback area's workflows);
- token_suspended: the owner of an API token suspended past a daily usage limit (accounts/usage.py);
- datasets_held: the office, when a sync holds datasets back for unmasked personal data (sync/screen.py);
- access_requested, data_requested, report_filed: who decides what a user filed (an access request, a data
  request, an error report): the office and the data owners of its department, never the one who filed it;
  they are told in the site too (`tell`).

Each message is written in its reader's language (`users.language`: what they last chose with the
language switch or signed in with), else in the default one (BABEL_DEFAULT_LOCALE).

Links are built from PUBLIC_BASE_URL (no request is needed: jobs and commands call this too).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from portal import mail
from portal.extensions import db
from portal.notices import inbox
from portal.notices.models import EmailOptOut

APPLICATION_RETURNED = "application_returned"
APPLICATION_APPROVED = "application_approved"
JUDGE_ASSIGNED = "judge_assigned"
RESULTS_PUBLISHED = "results_published"
ACCESS_DECIDED = "access_decided"
REPORT_ANSWERED = "report_answered"
REQUEST_ANSWERED = "request_answered"
TOKEN_SUSPENDED = "token_suspended"
DATASETS_HELD = "datasets_held"
ACCESS_REQUESTED = "access_requested"
DATA_REQUESTED = "data_requested"
REPORT_FILED = "report_filed"

# Kind -> its label on the account page, in the order shown there.
KINDS = {
    APPLICATION_RETURNED: _l("My county's application was returned"),
    APPLICATION_APPROVED: _l("My county's application was approved"),
    JUDGE_ASSIGNED: _l("I was assigned entries to judge"),
    RESULTS_PUBLISHED: _l("Results of a round my team entered were published"),
    ACCESS_DECIDED: _l("My access request was decided"),
    REPORT_ANSWERED: _l("My error report was answered"),
    REQUEST_ANSWERED: _l("A data request I made or voted for was answered"),
    TOKEN_SUSPENDED: _l("One of my API tokens was suspended past a daily usage limit"),
    DATASETS_HELD: _l("The sync held datasets back for unmasked personal data (the office)"),
    ACCESS_REQUESTED: _l("A developer asked for access to a dataset I decide on"),
    DATA_REQUESTED: _l("A user asked for data from a department I answer for"),
    REPORT_FILED: _l("A user reported an error in a dataset I answer for"),
}


class Reader(Protocol):
    id: int
    email: str
    display_name: str
    active: bool
    language: str | None


def opted_out(user_id: int) -> set[str]:
    """The kinds `user_id` asked not to receive by email."""
    return set(db.session.scalars(select(EmailOptOut.kind).where(EmailOptOut.user_id == user_id)))


def set_opt_outs(user_id: int, kinds: Iterable[str]) -> set[str]:
    """Make `kinds` the user's opt-outs (unknown kinds raise ValueError); flush; return them."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown email kinds {sorted(unknown)!r}")
    db.session.execute(delete(EmailOptOut).where(EmailOptOut.user_id == user_id))
    db.session.add_all(EmailOptOut(user_id=user_id, kind=kind) for kind in sorted(wanted))
    db.session.flush()
    return wanted


def email(users: Iterable[Reader], kind: str, context: dict, *, locale: str | None = None) -> int:
    """Queue the `kind` message for each active user who has not opted out; return how many were queued.

    Each is written in `locale` when given, else in the reader's own language (`reader_locale`).

    Queueing commits the session (the job record must be visible to a worker): call it last in a workflow.

    `context` is rendered into the template with `name` (the reader's display name) added; keep secrets
    out of it, the job record keeps it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    readers = {u.id: u for u in users if u.active and u.email}
    if not readers:
        return 0
    muted = set(
        db.session.scalars(
            select(EmailOptOut.user_id).where(EmailOptOut.kind == kind, EmailOptOut.user_id.in_(readers))
        )
    )
    count = 0
    for user_id, user in sorted(readers.items()):
        if user_id in muted:
            continue
        mail.send_later(
            user.email, kind, {**context, "name": user.display_name}, locale or reader_locale(user)
        )
        count += 1
    return count


def tell(
    users: Iterable[Reader], kind: str, context: dict, *, now: datetime, reason: str = "", **subject
) -> int:
    """Tell each active user in the site (a `kind` notice about `subject`) and by email unless they opted out.

    Returns how many emails were queued. Queueing commits the session, as `email` does: call it last.
    """
    readers = [user for user in users if user.active]
    inbox.deliver([user.id for user in readers], kind, now=now, reason=reason, **subject)
    return email(readers, kind, context)


def reader_locale(user: Reader) -> str | None:
    """The language to write to `user` in: theirs, or None (mail.render then takes the default)."""
    return getattr(user, "language", None) or None


def link(endpoint: str, **values) -> str:
    """An absolute URL to `endpoint` under PUBLIC_BASE_URL (http://localhost when unset, as in tests)."""
    base = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "http://localhost")
    scheme = base.scheme or "http"
    urls = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=scheme)
    return urls.build(endpoint, values, force_external=True)
